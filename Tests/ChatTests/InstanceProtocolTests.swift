import ChatClient
import ChatInstance
import Foundation
import Testing

/// The running instance's messages and framing as values (docs/POLYCHAT_INSTANCE.md).
@Suite struct InstanceProtocolTests {
    @Test func linesAreSplitHoweverTheBytesArriveAndTooLongALineIsRefused() throws {
        var buffer = LineBuffer(maximumLine: 16)
        #expect(try buffer.feed(Array("{\"a\":".utf8)).isEmpty)
        #expect(!buffer.isEmpty)
        #expect(try buffer.feed(Array("1}\r\n{\"b\":2}\n{".utf8)) == [Array("{\"a\":1}".utf8), Array("{\"b\":2}".utf8)])
        #expect(try buffer.feed(Array("}\n".utf8)) == [Array("{}".utf8)])
        #expect(buffer.isEmpty)
        // Seventeen bytes without a newline: refused before the newline comes.
        #expect(throws: LineBuffer.TooLong.self) { try buffer.feed(Array(String(repeating: "x", count: 17).utf8)) }
        var exact = LineBuffer(maximumLine: 4)
        #expect(try exact.feed(Array("abcd\n".utf8)) == [Array("abcd".utf8)])
    }

    @Test func requestsThatAreNotJSONRPCGetTheStandardErrorCodes() {
        func code(_ line: String) -> Int? {
            if case .failure(let error) = InstanceProtocol.head(Array(line.utf8)) { return error.code }
            return nil
        }
        #expect(code("not json") == -32700)
        #expect(code("[1, 2]") == -32700)
        #expect(code(#"{"id": 1}"#) == -32600)
        #expect(code(#"{"jsonrpc": "1.0", "id": 1, "method": "status"}"#) == -32600)
        #expect(code(#"{"jsonrpc": "2.0", "id": 1, "method": "status"}"#) == nil)
        guard case .success(let head) = InstanceProtocol.head(Array(#"{"jsonrpc":"2.0","id":"x","method":"send"}"#.utf8)) else {
            Issue.record("a string id is allowed")
            return
        }
        #expect(head.id == .string("x"))
        #expect(head.method == "send")
    }

    @Test func paramsThatDoNotFitSayWhichField() {
        let line = Array(#"{"jsonrpc":"2.0","id":1,"method":"send","params":{"text":"hi"}}"#.utf8)
        guard case .failure(let error) = InstanceProtocol.params(InstanceProtocol.SendParams.self, line) else {
            Issue.record("a missing conversation must be refused")
            return
        }
        #expect(error.code == -32602)
        #expect(error.message.contains("\"conversation\" is missing"))
        let wrong = Array(#"{"jsonrpc":"2.0","id":1,"method":"send","params":{"conversation":1,"text":"hi"}}"#.utf8)
        guard case .failure(let typeError) = InstanceProtocol.params(InstanceProtocol.SendParams.self, wrong) else {
            Issue.record("a number for a conversation must be refused")
            return
        }
        #expect(typeError.message.contains("\"conversation\" has the wrong type"))
        let good = Array(#"{"jsonrpc":"2.0","id":1,"method":"run","params":{"argv":["rooms","--json"]}}"#.utf8)
        guard case .success(let params) = InstanceProtocol.params(InstanceProtocol.RunParams.self, good) else {
            Issue.record("run's params parse")
            return
        }
        #expect(params.argv == ["rooms", "--json"])
    }

    @Test func answersCarryTheIdAndAFailedCommandItsReasonAndExitStatus() throws {
        let ok = InstanceProtocol.result(InstanceProtocol.RunResult(status: 0, stdout: "a\n", stderr: ""), id: .number(7))
        #expect(ok.last == 0x0A)
        #expect(ok.dropLast().contains(0x0A) == false)  // one line, whatever the text holds
        let object = try #require(try JSONSerialization.jsonObject(with: Data(ok)) as? [String: Any])
        #expect(object["jsonrpc"] as? String == "2.0")
        #expect(object["id"] as? Int == 7)
        guard case .success(let run)? = InstanceProtocol.reply(InstanceProtocol.RunResult.self, ok) else {
            Issue.record("the result decodes")
            return
        }
        #expect(run == InstanceProtocol.RunResult(status: 0, stdout: "a\n", stderr: ""))

        let failed = InstanceProtocol.failure(
            .failed(ChatError(.notFound, "no conversation 'x' here"), status: ChatError.Code.notFound.exitStatus),
            id: .string("q")
        )
        guard case .failure(let error)? = InstanceProtocol.reply(InstanceProtocol.RunResult.self, failed) else {
            Issue.record("the error decodes")
            return
        }
        #expect(error.code == -32000)
        #expect(error.data?.reason == "not_found")
        #expect(error.data?.status == 1)
        #expect(ChatError.Code(reason: error.data!.reason) == .notFound)
        // A notification is not an answer.
        let notice = InstanceProtocol.notification("notice", InstanceProtocol.NoticeEvent(text: "hello"))
        #expect(InstanceProtocol.reply(InstanceProtocol.RunResult.self, notice) == nil)
        #expect(InstanceProtocol.event(notice) == .notice(.init(text: "hello")))
    }

    @Test func messageEventsRoundTrip() throws {
        let json =
            #"{"seq":3,"sender":"abab","senderName":"alice","text":"hi","sentAtMs":1700000000000,"own":false,"notice":false}"#
        let message = try JSONDecoder().decode(ChatMessage.self, from: Data(json.utf8))
        let event = InstanceProtocol.MessageEvent(
            conversation: "c0ffee",
            conversationName: "lobby",
            kind: "room",
            message: message
        )
        let line = InstanceProtocol.notification("message", event)
        #expect(InstanceProtocol.event(line) == .message(event))
        #expect(InstanceProtocol.event(Array("{}".utf8)) == nil)
    }

    @Test func exitStatusesFollowTheManPage() {
        #expect(ChatError.Code.unreachable.exitStatus == 3)
        #expect(ChatError.Code.noIdentity.exitStatus == 4)
        #expect(ChatError.Code.busy.exitStatus == 5)
        #expect(ChatError.Code.revoked.exitStatus == 6)
        #expect(ChatError.Code.rateLimited.exitStatus == 7)
        #expect(ChatError.Code.badArgument.exitStatus == 64)
        #expect(ChatError.Code.notFound.exitStatus == 1)
    }
}
