/// Why a TLS connection failed, in words a person can act on (with the host and port). The
/// description never holds key material.
public struct TLSFailure: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        let name: String
        public var description: String { self.name }

        /// The chain does not lead to an authority this machine trusts (self-signed, a private
        /// CA that was not given with `--ca-file`, a missing intermediate).
        public static let untrustedIssuer = Code(name: "untrusted_issuer")
        /// A certificate of the chain has expired.
        public static let expired = Code(name: "expired")
        /// A certificate of the chain is not valid yet (or this machine's clock is wrong).
        public static let notYetValid = Code(name: "not_yet_valid")
        /// The certificate is valid but for other names.
        public static let nameMismatch = Code(name: "name_mismatch")
        /// Another refusal of the certificate (its purpose, its signature …).
        public static let badCertificate = Code(name: "bad_certificate")
        /// The handshake itself failed: not a TLS port, no common protocol version or cipher.
        public static let handshake = Code(name: "handshake")
        /// A CA file given to the client cannot be used.
        public static let badCAFile = Code(name: "bad_ca_file")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { self.message }
}
