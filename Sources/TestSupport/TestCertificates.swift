#if canImport(Glibc)
import Glibc
#endif

/// A throwaway certificate authority and server certificates made with Debian's `openssl`
/// command, for tests of TLS: valid, expired, for other names, or from another authority.
package struct TestCertificates: Sendable {
    /// The directory holding every file.
    package let directory: String

    /// The authority's certificate (what a client is given with `--ca-file`).
    package var caFile: String { "\(self.directory)/ca.pem" }

    /// A certificate and its key (mode 0600).
    package struct Pair: Sendable {
        package let certificate: String
        package let privateKey: String

        package init(certificate: String, privateKey: String) {
            self.certificate = certificate
            self.privateKey = privateKey
        }
    }

    /// Makes the authority (and a second, untrusted one: `rogue`).
    package static func make() async throws -> TestCertificates {
        let certificates = TestCertificates(directory: TestEnvironment.makeDirectory("tls"))
        for name in ["ca", "rogue"] {
            try await certificates.openssl([
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", "\(certificates.directory)/\(name).key", "-out", "\(certificates.directory)/\(name).pem",
                "-days", "30", "-subj", "/CN=polygate test \(name)",
            ])
        }
        return certificates
    }

    /// A server certificate `name` for `names` (`DNS:localhost`, `IP:127.0.0.1` …), valid for
    /// `days` from now (-1: expired yesterday), issued by `issuer` (`ca` or `rogue`).
    package func server(
        _ name: String,
        names: [String] = ["DNS:localhost", "IP:127.0.0.1"],
        days: Int = 30,
        issuer: String = "ca"
    ) async throws -> Pair {
        let base = "\(self.directory)/\(name)"
        try await self.openssl([
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "\(base).key", "-out", "\(base).csr", "-subj", "/CN=\(name)",
        ])
        try writeFile("\(base).ext", "subjectAltName=\(names.joined(separator: ","))\nextendedKeyUsage=serverAuth\n")
        try await self.openssl([
            "x509", "-req", "-in", "\(base).csr", "-CA", "\(self.directory)/\(issuer).pem",
            "-CAkey", "\(self.directory)/\(issuer).key", "-CAcreateserial", "-days", "\(days)",
            "-extfile", "\(base).ext", "-out", "\(base).pem",
        ])
        chmod("\(base).key", 0o600)
        return Pair(certificate: "\(base).pem", privateKey: "\(base).key")
    }

    func openssl(_ arguments: [String]) async throws {
        let (status, output) = try await TestProcess.run("/usr/bin/openssl", arguments)
        guard status == 0 else { throw TestFailure("openssl \(arguments.joined(separator: " ")) exited \(status): \(output)") }
    }
}
