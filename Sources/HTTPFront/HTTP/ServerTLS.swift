import Foundation
package import NIOSSL
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The native TLS listener's certificate and key (`[http] tls_certificate`, `tls_private_key`):
/// TLS 1.2 or later with NIOSSL's modern cipher suites, ALPN `http/1.1`. ``reload()`` reads
/// the files again (on SIGHUP) for new connections; connections already open keep the
/// context they started with, so nothing is dropped.
package final class ServerTLS: Sendable {
    /// The two PEM files.
    package struct Files: Sendable, Hashable {
        /// The certificate chain, leaf first (e.g. certbot's `fullchain.pem`).
        package var certificate: String
        /// The private key: readable by the daemon's user, not by others.
        package var privateKey: String

        package init(certificate: String, privateKey: String) {
            self.certificate = certificate
            self.privateKey = privateKey
        }
    }

    /// What was loaded, for the logs.
    package struct Loaded: Sendable, Hashable {
        /// The leaf's names (subject alternative names, else its common name).
        package var names: [String]
        /// When the leaf expires (seconds since 1970).
        package var notAfter: Int
        /// Certificates in the chain.
        package var chainLength: Int
    }

    package let files: Files
    private let state: Mutex<(context: NIOSSLContext, loaded: Loaded)>

    /// Loads the files.
    ///
    /// - Throws: ``ServerTLSError`` naming the file and what is wrong with it.
    package init(files: Files) throws(ServerTLSError) {
        self.files = files
        self.state = Mutex(try Self.load(files))
    }

    /// The context new connections use.
    package var context: NIOSSLContext { self.state.withLock { $0.context } }

    /// What is in use.
    package var loaded: Loaded { self.state.withLock { $0.loaded } }

    /// Reads the files again; on failure the context in use stays.
    @discardableResult
    package func reload() throws(ServerTLSError) -> Loaded {
        let fresh = try Self.load(self.files)
        self.state.withLock { $0 = fresh }
        return fresh.loaded
    }

    static func load(_ files: Files) throws(ServerTLSError) -> (context: NIOSSLContext, loaded: Loaded) {
        try Self.checkKeyFileMode(files.privateKey)
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(files.certificate)
        } catch {
            throw ServerTLSError(
                .certificate,
                file: files.certificate,
                Self.unreadable(files.certificate, "PEM certificates (-----BEGIN CERTIFICATE-----)")
            )
        }
        guard let leaf = chain.first else {
            throw ServerTLSError(.certificate, file: files.certificate, "holds no certificate (-----BEGIN CERTIFICATE-----)")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: files.privateKey, format: .pem)
        } catch {
            throw ServerTLSError(
                .privateKey,
                file: files.privateKey,
                Self.unreadable(files.privateKey, "an unencrypted PEM private key (-----BEGIN PRIVATE KEY-----)")
            )
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) },
            privateKey: .privateKey(key)
        )
        configuration.minimumTLSVersion = .tlsv12
        configuration.applicationProtocols = ["http/1.1"]
        let context: NIOSSLContext
        do {
            context = try NIOSSLContext(configuration: configuration)
        } catch {
            // Both files read: what is left is a key that is not the certificate's.
            throw ServerTLSError(
                .mismatch,
                file: files.privateKey,
                "is not the key of the certificate in \(files.certificate) (the first certificate there must be the server's own, and this its key)"
            )
        }
        return (context, Loaded(names: Self.names(of: leaf), notAfter: Int(leaf.notValidAfter), chainLength: chain.count))
    }

    /// Refuses a key file that other users may read or anyone but its owner and group may
    /// write: mode 0600 (or 0640 with a group such as `ssl-cert`), owned by the daemon's user.
    static func checkKeyFileMode(_ path: String) throws(ServerTLSError) {
        let attributes: [FileAttributeKey: Any]
        do {
            attributes = try FileManager.default.attributesOfItem(atPath: path)
        } catch {
            throw ServerTLSError(
                .privateKey,
                file: path,
                "cannot be read (\(access(path, F_OK) == 0 ? "permission denied" : "no such file"))"
            )
        }
        let mode = (attributes[.posixPermissions] as? Int) ?? 0
        guard mode & 0o027 == 0 else {
            throw ServerTLSError(
                .privateKey,
                file: path,
                "is open to other users (mode \(String(mode, radix: 8))): make it readable only by the daemon's user, e.g. chmod 0600 (or 0640 with a group such as ssl-cert)"
            )
        }
    }

    static func unreadable(_ path: String, _ what: String) -> String {
        access(path, R_OK) == 0
            ? "does not hold \(what)"
            : "cannot be read (\(String(cString: strerror(errno)))): it must be readable by the daemon's user"
    }

    static func names(of certificate: NIOSSLCertificate) -> [String] {
        let names = certificate._subjectAlternativeNames().compactMap { name -> String? in
            guard name.nameType == .dnsName else { return nil }
            return String(decoding: name.contents.withUnsafeBufferPointer { Array($0) }, as: UTF8.self)
        }
        return names
    }
}

/// Why the TLS certificate or key cannot be used.
package struct ServerTLSError: Error, Sendable, Hashable, CustomStringConvertible {
    package struct Code: Sendable, Hashable, CustomStringConvertible {
        let name: String
        package var description: String { self.name }
        package static let certificate = Code(name: "certificate")
        package static let privateKey = Code(name: "private_key")
        package static let mismatch = Code(name: "mismatch")
    }

    package var code: Code
    /// The file concerned.
    package var file: String
    package var message: String

    package init(_ code: Code, file: String, _ message: String) {
        self.code = code
        self.file = file
        self.message = message
    }

    /// `/etc/polygate/tls/key.pem is open to other users …` — never the key's contents.
    package var description: String { "\(self.file) \(self.message)" }
}
