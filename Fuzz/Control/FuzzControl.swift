import Control
import FuzzSupport

/// `fuzz-control`: a line from a control-socket client (docs/CONTROL_PROTOCOL.md) decoded as a
/// request and validated against the command registry, as the daemon does; and the same bytes
/// as a line typed at gwctl's console (tokenising, quoting, unique prefixes).
enum Fixture {
    static let seeds: [[UInt8]] = [
        Array(#"{"id":1,"command":"status"}"#.utf8),
        Array(#"{"id":2,"command":"conv list","options":{"limit":"5"}}"#.utf8),
        Array(#"{"id":3,"cancel":true}"#.utf8),
        Array(#"device revoke 'abc' --reason "lost phone""#.utf8),
    ]
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = FuzzDriver.bytes(data, size)
    if let request = try? ControlProtocol.decode(ControlProtocol.Request.self, bytes) {
        _ = try? ControlCommandLine.validate(request)
    }
    let line = String(decoding: bytes, as: UTF8.self)
    if let parsed = try? ControlCommandLine.parse(line: line) {
        _ = parsed.request(id: 1)
    }
    return 0
}

@_cdecl("fuzz_control_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    FuzzDriver.run(argc, argv, seeds: { Fixture.seeds }, fuzzOne)
}
