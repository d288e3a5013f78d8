package import NIOCore
package import NIOSSL
import Synchronization

/// How a client checks the servers it talks to over TLS (`https://`, `wss://`): the chain
/// against the system's trust store (Debian's `/etc/ssl/certs`) and, for a private CA, the
/// certificates of `caFiles` as well; the host name against the certificate. Verification is
/// always on: there is deliberately no switch to turn it off.
package struct ClientTLS: Sendable, Hashable {
    /// PEM files of certificate authorities trusted in addition to the system's.
    package var caFiles: [String]

    package init(caFiles: [String] = []) {
        self.caFiles = caFiles
    }

    /// The TLS configuration for NIO and AsyncHTTPClient: TLS 1.2 or later, full
    /// verification, ALPN `http/1.1`.
    ///
    /// - Throws: ``TLSFailure`` `bad_ca_file` when a CA file cannot be read or holds no certificate.
    package func configuration() throws(TLSFailure) -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.certificateVerification = .fullVerification
        configuration.trustRoots = .default
        configuration.applicationProtocols = ["http/1.1"]
        var extra: [NIOSSLCertificate] = []
        for file in self.caFiles {
            extra += try Self.certificates(in: file)
        }
        if !extra.isEmpty { configuration.additionalTrustRoots = [.certificates(extra)] }
        return configuration
    }

    /// A context for ``handler(host:context:)``: one per settings for the life of the process
    /// (each holds the parsed trust store, about a megabyte; a client of many connections
    /// shares it). A CA file is read when its settings are first used.
    package func context() throws(TLSFailure) -> NIOSSLContext {
        if let context = Self.contexts.withLock({ $0[self] }) { return context }
        let configuration = try self.configuration()
        let context: NIOSSLContext
        do {
            context = try NIOSSLContext(configuration: configuration)
        } catch {
            throw TLSFailure(.badCAFile, "the TLS settings cannot be used: \(error)")
        }
        return Self.contexts.withLock { contexts in
            if let existing = contexts[self] { return existing }
            contexts[self] = context
            return context
        }
    }

    private static let contexts = Mutex<[ClientTLS: NIOSSLContext]>([:])

    /// The channel handler that speaks TLS to `host` (sent as SNI unless it is an IP address,
    /// and checked against the certificate either way).
    package static func handler(host: String, context: NIOSSLContext) throws -> NIOSSLClientHandler {
        try NIOSSLClientHandler(context: context, serverHostname: Self.isIPAddress(host) ? nil : host)
    }

    /// The certificates of a PEM file, with an error that names the file.
    static func certificates(in file: String) throws(TLSFailure) -> [NIOSSLCertificate] {
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMFile(file)
        } catch {
            throw TLSFailure(
                .badCAFile,
                "cannot read the CA file \(file): it must be readable and hold PEM certificates (-----BEGIN CERTIFICATE-----)"
            )
        }
        guard !certificates.isEmpty else {
            throw TLSFailure(.badCAFile, "the CA file \(file) holds no certificate (-----BEGIN CERTIFICATE-----)")
        }
        return certificates
    }

    static func isIPAddress(_ host: String) -> Bool {
        (try? SocketAddress(ipAddress: host, port: 0)) != nil
    }
}
