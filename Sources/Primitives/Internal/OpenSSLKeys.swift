import COpenSSL

/// Thin helpers over OpenSSL's EVP_PKEY for the curves libsodium lacks (X448, Ed448, NIST P-curves).
enum OpenSSLKeys {
    /// OpenSSL curve NIDs.
    static let p256 = NID_X9_62_prime256v1
    static let p384 = NID_secp384r1
    static let p521 = NID_secp521r1

    /// An EVP_PKEY from a raw private key (X448, Ed448); free it with EVP_PKEY_free.
    static func rawPrivate(type: Int32, _ key: SecretBytes, _ operation: String) throws(PrimitivesError) -> OpaquePointer {
        let pkey = key.withUnsafeBytes { raw in
            EVP_PKEY_new_raw_private_key(type, nil, raw.baseAddress?.assumingMemoryBound(to: UInt8.self), raw.count)
        }
        guard let pkey else { throw PrimitivesError(.invalidKey, operation) }
        return pkey
    }

    /// An EVP_PKEY from a raw public key (X448, Ed448).
    static func rawPublic(type: Int32, _ key: [UInt8], _ operation: String) throws(PrimitivesError) -> OpaquePointer {
        guard let pkey = EVP_PKEY_new_raw_public_key(type, nil, key, key.count) else {
            throw PrimitivesError(.invalidPublicKey, operation)
        }
        return pkey
    }

    /// The raw public key of an EVP_PKEY (X448, Ed448).
    static func rawPublicKey(of pkey: OpaquePointer, size: Int, _ operation: String) throws(PrimitivesError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: size)
        var length = size
        guard EVP_PKEY_get_raw_public_key(pkey, &out, &length) == 1, length == size else {
            throw PrimitivesError(.libraryFailure, operation)
        }
        return out
    }

    /// An EC private key (scalar only: enough for ECDH and signing) on `nid`.
    static func ecPrivateKey(nid: Int32, _ privateKey: SecretBytes, _ operation: String) throws(PrimitivesError) -> OpaquePointer
    {
        let pkey = privateKey.withUnsafeBytes { raw in
            cshim_ec_pkey(nid, raw.baseAddress?.assumingMemoryBound(to: UInt8.self), raw.count, nil, 0)
        }
        guard let pkey else { throw PrimitivesError(.invalidKey, operation) }
        return pkey
    }

    /// An EC public key on `nid`; the point is validated.
    static func ecPublicKey(nid: Int32, _ publicKey: [UInt8], _ operation: String) throws(PrimitivesError) -> OpaquePointer {
        guard let pkey = cshim_ec_pkey(nid, nil, 0, publicKey, publicKey.count) else {
            throw PrimitivesError(.invalidPublicKey, operation)
        }
        return pkey
    }

    /// The uncompressed public point of scalar `privateKey` on `nid`.
    static func ecPublicKey(
        nid: Int32,
        privateKey: SecretBytes,
        size: Int,
        _ operation: String
    ) throws(PrimitivesError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: size)
        let written = privateKey.withUnsafeBytes { raw in
            cshim_ec_public_from_private(nid, raw.baseAddress?.assumingMemoryBound(to: UInt8.self), raw.count, &out, size)
        }
        guard written == size else { throw PrimitivesError(.invalidKey, operation) }
        return out
    }

    /// `EVP_PKEY_derive` between a private key and a peer public key.
    static func derive(
        _ privateKey: OpaquePointer,
        _ peer: OpaquePointer,
        size: Int,
        _ operation: String
    ) throws(PrimitivesError) -> [UInt8] {
        guard let context = EVP_PKEY_CTX_new(privateKey, nil) else { throw PrimitivesError(.libraryFailure, operation) }
        defer { EVP_PKEY_CTX_free(context) }
        var out = [UInt8](repeating: 0, count: size)
        var length = size
        guard EVP_PKEY_derive_init(context) == 1, EVP_PKEY_derive_set_peer(context, peer) == 1,
            EVP_PKEY_derive(context, &out, &length) == 1, length == size
        else {
            throw PrimitivesError(.invalidPublicKey, operation)
        }
        return out
    }

    /// A one-shot signature (`EVP_DigestSign`); `digest` nil for EdDSA.
    static func sign(
        _ pkey: OpaquePointer,
        digest: OpaquePointer?,
        message: [UInt8],
        _ operation: String
    ) throws(PrimitivesError) -> [UInt8] {
        guard let context = EVP_MD_CTX_new() else { throw PrimitivesError(.libraryFailure, operation) }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestSignInit(context, nil, digest, nil, pkey) == 1 else { throw PrimitivesError(.libraryFailure, operation) }
        var length = 0
        let sized = message.withUnsafeBufferPointer { m in
            EVP_DigestSign(context, nil, &length, m.baseAddress ?? emptyInputBytes, m.count)
        }
        guard sized == 1 else { throw PrimitivesError(.libraryFailure, operation) }
        var signature = [UInt8](repeating: 0, count: length)
        let signed = message.withUnsafeBufferPointer { m in
            EVP_DigestSign(context, &signature, &length, m.baseAddress ?? emptyInputBytes, m.count)
        }
        guard signed == 1 else { throw PrimitivesError(.libraryFailure, operation) }
        return Array(signature.prefix(length))
    }

    /// A one-shot verification (`EVP_DigestVerify`).
    static func verify(_ pkey: OpaquePointer, digest: OpaquePointer?, signature: [UInt8], message: [UInt8]) -> Bool {
        guard let context = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestVerifyInit(context, nil, digest, nil, pkey) == 1 else { return false }
        let result = signature.withUnsafeBufferPointer { s in
            message.withUnsafeBufferPointer { m in
                EVP_DigestVerify(context, s.baseAddress ?? emptyInputBytes, s.count, m.baseAddress ?? emptyInputBytes, m.count)
            }
        }
        ERR_clear_error()
        return result == 1
    }
}
