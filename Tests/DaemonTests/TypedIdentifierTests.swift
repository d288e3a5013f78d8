import TestSupport
import Testing

/// Ids have types of their own (issue 18): a user id passed where a device id or a conversation
/// id belongs does not compile. Checked by the compiler itself: `swiftc -typecheck` against the
/// built `GatewayWire` module, once with the ids in their places (it must compile, so the check
/// is sound) and once swapped (it must not, with a type error naming both types).
@Suite struct TypedIdentifierTests {
    static let root = String(#filePath.split(separator: "/Tests/", maxSplits: 1)[0])

    /// SwiftPM's name of this package (`-package-name`): the root directory's name as an identifier.
    static var packageName: String {
        let directory = Self.root.split(separator: "/").last.map(String.init) ?? "polygate"
        let name = String(directory.map { $0.isLetter || $0.isNumber ? $0 : "_" })
        return name.first?.isNumber == true ? "_" + name : name
    }

    static func typecheck(_ source: String) async throws -> (status: Int32, output: String) {
        let path = "\(TestEnvironment.makeDirectory("typed-ids"))/check.swift"
        try writeFile(path, source)
        var arguments = [
            "swiftc", "-typecheck", "-package-name", Self.packageName, "-I", "\(TestEnvironment.productsDirectory)/Modules",
        ]
        for shim in ["CSodium", "COpenSSL"] { arguments += ["-I", "\(Self.root)/Sources/\(shim)"] }
        return try await TestProcess.run("/usr/bin/env", arguments + [path], timeout: .seconds(120))
    }

    static func program(device: String, user: String, conversation: String) -> String {
        """
        import GatewayWire

        func route(_ conversation: ConversationID, from user: UserID, on device: DeviceID) -> String {
            conversation.hex + user.hex + device.hex
        }
        let user = UserID([1])
        let device = DeviceID([2])
        let conversation = ConversationID([3])
        let tokens = ResumeToken(key: .init([UInt8](repeating: 7, count: 32)))
        _ = tokens.issue(deviceID: \(device), expiresAtMs: 1)
        _ = route(\(conversation), from: \(user), on: \(device))

        """
    }

    @Test func swappedIdsDoNotCompile() async throws {
        let right = try await Self.typecheck(Self.program(device: "device", user: "user", conversation: "conversation"))
        #expect(right.status == 0, "the control program must compile: \(right.output)")
        let swapped = try await Self.typecheck(Self.program(device: "user", user: "device", conversation: "user"))
        #expect(swapped.status != 0)
        #expect(swapped.output.contains("cannot convert value of type 'UserID'"), "\(swapped.output)")
        #expect(swapped.output.contains("'DeviceID'"))
        #expect(swapped.output.contains("'ConversationID'"))
    }
}
