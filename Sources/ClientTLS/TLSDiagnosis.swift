import COpenSSL
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

extension ClientTLS {
    /// `error` explained when it is a failure of TLS with `host:port`, else nil.
    ///
    /// The TLS library decides; this only explains. When it refused the certificate (a verify
    /// failure, or a host name that does not match), the server's chain is fetched once more
    /// on a connection of its own and checked with OpenSSL for the reason — an untrusted
    /// issuer, an expired or not yet valid certificate, other names.
    package func explain(_ error: any Error, host: String, port: Int) async -> TLSFailure? {
        let place = "\(host):\(port)"
        if let extra = error as? NIOSSLExtraError, extra == .failedToValidateHostname {
            return await self.diagnose(host: host, port: port)
        }
        guard let failure = error as? NIOSSLError else { return nil }
        switch failure {
        case .handshakeFailed(let inner):
            let reason = Self.reason(inner)
            if reason == "certificate verify failed" { return await self.diagnose(host: host, port: port) }
            return TLSFailure(
                .handshake,
                "the TLS handshake with \(place) failed (\(reason)): is this the TLS port of polygated or of its proxy, and does it speak TLS 1.2 or later?"
            )
        case .uncleanShutdown:
            return TLSFailure(.handshake, "\(place) closed the TLS connection without ending it properly")
        default:
            return TLSFailure(.handshake, "TLS with \(place) failed: \(failure)")
        }
    }

    /// The reason of a BoringSSL error stack in words: `…:CERTIFICATE_VERIFY_FAILED]` →
    /// `certificate verify failed`.
    static func reason(_ error: BoringSSLError) -> String {
        // "sslError: [Error: 268435581 error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED at …]"
        let text = "\(error)"
        guard let marker = text.firstRange(of: "OPENSSL_internal:") else { return text }
        let token = text[marker.upperBound...].prefix { $0.isUppercase || $0.isNumber || $0 == "_" }
        return token.isEmpty ? text : token.lowercased().replacingUnderscores()
    }

    /// Checks the server's chain with OpenSSL and says what is wrong with it.
    func diagnose(host: String, port: Int) async -> TLSFailure {
        let place = "\(host):\(port)"
        let chain = await self.peerChain(host: host, port: port)
        let ders = chain.compactMap { try? $0.toDERBytes() }
        guard !ders.isEmpty, ders.count == chain.count else {
            return TLSFailure(
                .badCertificate,
                "the certificate of \(place) was refused, and the server did not show it again for a closer look"
            )
        }
        var issuer = [CChar](repeating: 0, count: 512)
        let code = Self.check(ders, caFiles: self.caFiles, host: host, issuer: &issuer)
        let issuerText = String(decoding: issuer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let now = time(nil)
        switch code {
        case X509_V_ERR_CERT_HAS_EXPIRED:
            let expired = chain.first { $0.notValidAfter < now } ?? chain[0]
            return TLSFailure(
                .expired,
                "the certificate of \(place) expired on \(Self.date(expired.notValidAfter)): the server's operator must renew it (or this machine's clock is wrong: it says \(Self.date(now)))"
            )
        case X509_V_ERR_CERT_NOT_YET_VALID:
            let early = chain.first { $0.notValidBefore > now } ?? chain[0]
            return TLSFailure(
                .notYetValid,
                "the certificate of \(place) is not valid before \(Self.date(early.notValidBefore)): this machine's clock (\(Self.date(now))) or the certificate is wrong"
            )
        case X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH:
            let names = Self.names(of: chain[0])
            return TLSFailure(
                .nameMismatch,
                "the certificate of \(place) is not for \(host)\(names.isEmpty ? "" : " but for \(names.joined(separator: ", "))"): use a name the certificate carries, or have one issued for \(host)"
            )
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT,
            X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN,
            X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
            return TLSFailure(
                .untrustedIssuer,
                "the certificate of \(place) is issued by an authority this machine does not trust (\(issuerText.isEmpty ? "unknown issuer" : issuerText)): for a private CA, give its certificate with --ca-file (or POLYCHAT_CA_FILE)"
            )
        default:
            let text = code > 0 ? String(cString: X509_verify_cert_error_string(Int(code))) : "the chain does not decode"
            return TLSFailure(.badCertificate, "the certificate of \(place) was refused: \(text)")
        }
    }

    /// The chain the server at `host:port` presents (leaf first), or none.
    func peerChain(host: String, port: Int) async -> [NIOSSLCertificate] {
        guard let context = try? self.context() else { return [] }
        let captured = Mutex<[NIOSSLCertificate]>([])
        do {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(5))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let handler = try NIOSSLClientHandler(
                            context: context,
                            serverHostname: Self.isIPAddress(host) ? nil : host,
                            customVerificationCallback: { chain, promise in
                                captured.withLock { $0 = chain }
                                // Only looking: the connection goes no further.
                                promise.succeed(.failed)
                            }
                        )
                        try channel.pipeline.syncOperations.addHandler(handler)
                        try channel.pipeline.syncOperations.addHandler(ErrorSwallower())
                    }
                }
                .connect(host: host, port: port)
                .get()
            channel.eventLoop.scheduleTask(in: .seconds(5)) { channel.close(promise: nil) }
            try? await channel.closeFuture.get()
        } catch {
            return []
        }
        return captured.withLock { $0 }
    }

    static func check(_ ders: [[UInt8]], caFiles: [String], host: String, issuer: inout [CChar]) -> Int32 {
        let buffers = ders.map { der -> UnsafeMutableBufferPointer<UInt8> in
            let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: der.count)
            _ = buffer.initialize(from: der)
            return buffer
        }
        let files = caFiles.map { strdup($0) }
        defer {
            for buffer in buffers { buffer.deallocate() }
            for file in files { free(file) }
        }
        let pointers: [UnsafePointer<UInt8>?] = buffers.map { UnsafePointer($0.baseAddress) }
        let lengths = ders.map(\.count)
        let filePointers: [UnsafePointer<CChar>?] = files.map { UnsafePointer($0) }
        let capacity = issuer.count
        return issuer.withUnsafeMutableBufferPointer { out in
            cshim_x509_diagnose(
                pointers,
                lengths,
                ders.count,
                filePointers,
                filePointers.count,
                host,
                Self.isIPAddress(host) ? 1 : 0,
                out.baseAddress,
                capacity
            )
        }
    }

    /// The DNS names and IP addresses a certificate is for.
    static func names(of certificate: NIOSSLCertificate) -> [String] {
        certificate._subjectAlternativeNames().compactMap { name -> String? in
            let bytes = name.contents.withUnsafeBufferPointer { Array($0) }
            switch name.nameType {
            case .dnsName: return String(decoding: bytes, as: UTF8.self)
            case .ipAddress where bytes.count == 4: return bytes.map(String.init).joined(separator: ".")
            case .ipAddress where bytes.count == 16:
                return stride(from: 0, to: 16, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
                    .joined(separator: ":")
            default: return nil
            }
        }
    }

    /// `2026-12-05 14:03 UTC` (the proleptic Gregorian calendar from Unix seconds; no libc
    /// structures).
    static func date(_ time: time_t) -> String {
        let seconds = Int64(time)
        let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let secondOfDay = seconds - days * 86400
        // Days since 1970-01-01 to a civil date (H. Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(year)-\(two(month))-\(two(day)) \(two(secondOfDay / 3600)):\(two(secondOfDay % 3600 / 60)) UTC"
    }
}

/// Keeps the probe's expected handshake failure out of NIO's "unhandled error" log.
private final class ErrorSwallower: ChannelInboundHandler, Sendable {
    typealias InboundIn = Never
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

extension String {
    fileprivate func replacingUnderscores() -> String {
        String(self.map { $0 == "_" ? " " : $0 })
    }
}
