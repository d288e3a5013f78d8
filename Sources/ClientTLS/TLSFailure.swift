/// Why a TLS connection failed, in words a person can act on (with the host and port). The
/// description never holds key material.
package struct TLSFailure: Error, Sendable, Hashable, CustomStringConvertible {
    package struct Code: Sendable, Hashable, CustomStringConvertible {
        let name: String
        package var description: String { self.name }

        /// The chain does not lead to an authority this machine trusts (self-signed, a private
        /// CA that was not given with `--ca-file`, a missing intermediate).
        package static let untrustedIssuer = Code(name: "untrusted_issuer")
        /// A certificate of the chain has expired.
        package static let expired = Code(name: "expired")
        /// A certificate of the chain is not valid yet (or this machine's clock is wrong).
        package static let notYetValid = Code(name: "not_yet_valid")
        /// The certificate is valid but for other names.
        package static let nameMismatch = Code(name: "name_mismatch")
        /// Another refusal of the certificate (its purpose, its signature …).
        package static let badCertificate = Code(name: "bad_certificate")
        /// The handshake itself failed: not a TLS port, no common protocol version or cipher.
        package static let handshake = Code(name: "handshake")
        /// A CA file given to the client cannot be used.
        package static let badCAFile = Code(name: "bad_ca_file")
    }

    package var code: Code
    package var message: String

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    package var description: String { self.message }
}
