#if canImport(Glibc)
import Glibc
#endif

/// libFuzzer's entry for programs with a `main` of their own. SwiftPM links every executable
/// with `main` aliased to `<module>_main`, so each fuzz target defines that function and hands
/// its `LLVMFuzzerTestOneInput` to the driver.
@_silgen_name("LLVMFuzzerRunDriver")
func llvmFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32

public enum FuzzDriver {
    /// Runs libFuzzer with the process's arguments. When `POLYGATE_FUZZ_SEEDS` names a
    /// directory, `seeds()` are written there (one file each) first and the program exits.
    public static func run(
        _ argc: Int32,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
        seeds: () -> [[UInt8]] = { [] },
        _ test: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
    ) -> Int32 {
        if let directory = getenv("POLYGATE_FUZZ_SEEDS").map({ String(cString: $0) }) {
            for (index, seed) in seeds().enumerated() {
                let path = "\(directory)/seed-\(index)"
                guard let file = fopen(path, "wb") else { continue }
                _ = seed.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
                fclose(file)
            }
            return 0
        }
        var argc = argc
        var argv = argv
        return llvmFuzzerRunDriver(&argc, &argv, test)
    }

    /// The input as an array.
    public static func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
        guard let data, size > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: size))
    }
}
