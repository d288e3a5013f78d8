import Daemon
import FuzzSupport

/// `fuzz-config`: any text as `/etc/polygate/polygated.conf` (TOML; polygated.conf(5)) — loaded
/// with line numbers and every key checked, as `polygated check-config` does.
enum Fixture {
    static let seeds: [[UInt8]] = [
        Array(DaemonConfiguration().description.utf8),
        Array("[http]\nlisten = \"[::1]:8080\"\n[gateway]\nconnect_rate_per_ip = \"20/1m\"\n".utf8),
    ]
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let text = String(decoding: FuzzDriver.bytes(data, size), as: UTF8.self)
    do {
        _ = try DaemonConfiguration.parse(text, file: "fuzz.conf")
    } catch {
        // A refusal names the file and the line: the message is built for every input.
        _ = error.description
    }
    return 0
}

@_cdecl("fuzz_config_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    FuzzDriver.run(argc, argv, seeds: { Fixture.seeds }, fuzzOne)
}
