import Control
import Foundation
import TestSupport
import Testing

/// The control socket against clients that break its protocol (issue 16): lines without end,
/// cancels of nothing.
@Suite struct ControlSocketHostileInputTests {
    /// Issue 16 (4): a line without a newline was buffered without bound (200 MiB sent: RSS from
    /// 51 to 259 MiB), although lines over 1 MiB close the connection. Now the connection closes
    /// once 1 MiB came without a newline, long before 16 MiB are sent.
    @Test func aLineWithoutEndIsRefusedPastTheLimitWithoutBuffering() async throws {
        try await GatewayHarness.run { gateway in
            let connection = try RawConnection.unix(path: gateway.controlPath)
            let hello = connection.read(for: .seconds(5)) { $0.contains(0x0A) }
            #expect(String(decoding: hello.bytes, as: UTF8.self).contains("\"protocol\":1"))
            let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 64 << 10)
            var sent = 0
            while sent < 16 << 20, connection.write(chunk) { sent += chunk.count }
            #expect(sent < 16 << 20, "the daemon took \(sent) bytes of one line")
            #expect(sent >= 1 << 20)
            // The daemon answers others as ever.
            #expect(try await Gwctl.ok(["--json", "status"], socket: gateway.controlPath).json()["ready"]?.string == "ready")
        }
    }

    /// Issue 16 (8): every line is answered — a `cancel` of a stream that does not run too.
    @Test func aCancelOfNothingIsAnswered() async throws {
        try await GatewayHarness.run { gateway in
            let connection = try RawConnection.unix(path: gateway.controlPath)
            _ = connection.read(for: .seconds(5)) { $0.contains(0x0A) }
            #expect(connection.write("{\"id\":5,\"cancel\":true}\n{\"id\":6,\"command\":\"status\"}\n"))
            let lines = connection.read(for: .seconds(5)) { $0.filter { $0 == 0x0A }.count >= 2 }.bytes
            let text = String(decoding: lines, as: UTF8.self).split(separator: "\n")
            #expect(text.count == 2)
            #expect(text.first?.contains("\"id\":5") == true && text.first?.contains("\"not_found\"") == true, "\(text)")
            #expect(text.last?.contains("\"id\":6") == true && text.last?.contains("\"ok\":true") == true, "\(text)")
        }
    }
}
