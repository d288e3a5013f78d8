import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Where tests find built programs, scratch space and PostgreSQL's binaries.
package enum TestEnvironment {
    /// Reads an environment variable.
    package static func get(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        return String(cString: value)
    }

    /// The directory holding the built products (`polygated` …): the test binary's own directory.
    package static let productsDirectory: String = {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        precondition(n > 0, "cannot read /proc/self/exe")
        let path = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)])
    }()

    /// The checkout the tests were built from (its `web/` folder is what the daemons serve).
    package static let sourceRoot: String = {
        var path = "\(#filePath)"
        for _ in 0..<3 { path = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)]) }
        return path
    }()

    /// The path of a built executable product.
    package static func product(_ name: String) -> String {
        "\(Self.productsDirectory)/\(name)"
    }

    /// A private scratch directory for this test process (under `$POLYGATE_TEST_TMPDIR` or /tmp),
    /// readable by the `postgres` user so that clusters can live in it when tests run as root.
    package static let scratchDirectory: String = {
        let base = Self.get("POLYGATE_TEST_TMPDIR") ?? "/tmp"
        mkdir(base, 0o755)
        var template = Array("\(base)/polygate-test-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp under \(base) failed: errno \(errno)")
        let path = String(cString: made!)
        chmod(path, 0o755)
        return path
    }()

    /// A new empty directory inside ``scratchDirectory``.
    package static func makeDirectory(_ name: String) -> String {
        let path = "\(Self.scratchDirectory)/\(name)-\(UInt32.random(in: 0...UInt32.max))"
        mkdir(path, 0o755)
        return path
    }

    /// A minimal environment for child processes.
    package static var baseEnvironment: [String: String] {
        var environment = ["PATH": Self.get("PATH") ?? "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "LANG": "C.UTF-8"]
        if let home = Self.get("HOME") { environment["HOME"] = home }
        // A Thread Sanitizer run (docs/BENCHMARKS.md) reaches the children built with it too.
        if let sanitizer = Self.get("TSAN_OPTIONS") { environment["TSAN_OPTIONS"] = sanitizer }
        return environment
    }

    /// Whether the tests run as root (then PostgreSQL runs as the `postgres` user).
    package static var isRoot: Bool { geteuid() == 0 }

    /// PostgreSQL's server binaries: `$POLYGATE_PGBIN`, else the newest `/usr/lib/postgresql/*/bin`.
    package static let postgresBinDirectory: String = {
        if let explicit = Self.get("POLYGATE_PGBIN") { return explicit }
        for version in stride(from: 30, through: 12, by: -1) {
            let candidate = "/usr/lib/postgresql/\(version)/bin"
            if access("\(candidate)/initdb", X_OK) == 0 { return candidate }
        }
        return "/usr/lib/postgresql/15/bin"
    }()

    /// Ports handed out by ``freePort()`` in this process.
    private static let handedOut = Mutex<Set<Int>>([])

    /// A TCP port on 127.0.0.1 that is free right now, never one handed out before in this
    /// process, and below the kernel's ephemeral range (32768+): a port the kernel picks for
    /// port 0 may be taken a moment later as the source port of an outgoing connection.
    package static func freePort() -> Int {
        while true {
            let candidate = Int.random(in: 20_000..<32_000)
            let fresh = Self.handedOut.withLock { $0.insert(candidate).inserted }
            if fresh, Self.canBind(candidate) { return candidate }
        }
    }

    private static func canBind(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        precondition(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}
