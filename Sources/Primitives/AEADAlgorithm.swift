import COpenSSL
import CSodium

/// Authenticated encryption with associated data: AES-GCM (OpenSSL) and ChaCha20-Poly1305
/// (libsodium, IETF variant). The ciphertext is the encrypted bytes followed by the 16-byte tag.
package enum AEADAlgorithm: Sendable, Hashable, CaseIterable {
    case aes128GCM
    case aes256GCM
    case chacha20Poly1305

    /// Key length (Nk).
    package var keySize: Int {
        switch self {
        case .aes128GCM: 16
        case .aes256GCM, .chacha20Poly1305: 32
        }
    }

    /// Nonce length (Nn).
    package var nonceSize: Int { 12 }

    /// Tag length.
    package var tagSize: Int { 16 }

    package var name: String {
        switch self {
        case .aes128GCM: "AES-128-GCM"
        case .aes256GCM: "AES-256-GCM"
        case .chacha20Poly1305: "ChaCha20-Poly1305"
        }
    }

    /// Encrypts and authenticates.
    package func seal(
        key: [UInt8],
        nonce: [UInt8],
        associatedData: [UInt8],
        plaintext: [UInt8]
    ) throws(PrimitivesError) -> [UInt8] {
        try self.check(key: key, nonce: nonce, "seal")
        switch self {
        case .aes128GCM, .aes256GCM:
            return try self.gcm(encrypt: true, key: key, nonce: nonce, aad: associatedData, input: plaintext)
        case .chacha20Poly1305:
            Primitives.initialize()
            var output = [UInt8](repeating: 0, count: plaintext.count + self.tagSize)
            var length: UInt64 = 0
            let rc = crypto_aead_chacha20poly1305_ietf_encrypt(
                &output,
                &length,
                plaintext,
                UInt64(plaintext.count),
                associatedData,
                UInt64(associatedData.count),
                nil,
                nonce,
                key
            )
            guard rc == 0 else { throw PrimitivesError(.libraryFailure, "\(self.name) seal") }
            return output
        }
    }

    /// Verifies and decrypts.
    ///
    /// - Throws: ``PrimitivesError/Code/authenticationFailure`` when anything was altered.
    package func open(
        key: [UInt8],
        nonce: [UInt8],
        associatedData: [UInt8],
        ciphertext: [UInt8]
    ) throws(PrimitivesError) -> [UInt8] {
        try self.check(key: key, nonce: nonce, "open")
        guard ciphertext.count >= self.tagSize else {
            throw PrimitivesError(.authenticationFailure, "\(self.name) open")
        }
        switch self {
        case .aes128GCM, .aes256GCM:
            return try self.gcm(encrypt: false, key: key, nonce: nonce, aad: associatedData, input: ciphertext)
        case .chacha20Poly1305:
            Primitives.initialize()
            var output = [UInt8](repeating: 0, count: ciphertext.count - self.tagSize)
            var length: UInt64 = 0
            let rc = crypto_aead_chacha20poly1305_ietf_decrypt(
                &output,
                &length,
                nil,
                ciphertext,
                UInt64(ciphertext.count),
                associatedData,
                UInt64(associatedData.count),
                nonce,
                key
            )
            guard rc == 0 else { throw PrimitivesError(.authenticationFailure, "\(self.name) open") }
            return output
        }
    }

    private func check(key: [UInt8], nonce: [UInt8], _ operation: String) throws(PrimitivesError) {
        guard key.count == self.keySize else { throw PrimitivesError(.invalidKey, "\(self.name) \(operation)") }
        guard nonce.count == self.nonceSize else { throw PrimitivesError(.invalidLength, "\(self.name) \(operation) nonce") }
    }

    private func gcm(encrypt: Bool, key: [UInt8], nonce: [UInt8], aad: [UInt8], input: [UInt8]) throws(PrimitivesError) -> [UInt8]
    {
        let operation = "\(self.name) \(encrypt ? "seal" : "open")"
        guard let context = EVP_CIPHER_CTX_new() else { throw PrimitivesError(.libraryFailure, operation) }
        defer { EVP_CIPHER_CTX_free(context) }
        let cipher = self == .aes128GCM ? EVP_aes_128_gcm() : EVP_aes_256_gcm()
        let body = encrypt ? input.count : input.count - self.tagSize
        var output = [UInt8](repeating: 0, count: body + (encrypt ? self.tagSize : 0))
        var length: Int32 = 0
        let initialised =
            encrypt
            ? EVP_EncryptInit_ex(context, cipher, nil, key, nonce) : EVP_DecryptInit_ex(context, cipher, nil, key, nonce)
        guard initialised == 1 else { throw PrimitivesError(.libraryFailure, operation) }
        if !aad.isEmpty {
            let rc =
                encrypt
                ? EVP_EncryptUpdate(context, nil, &length, aad, Int32(aad.count))
                : EVP_DecryptUpdate(context, nil, &length, aad, Int32(aad.count))
            guard rc == 1 else { throw PrimitivesError(.libraryFailure, operation) }
        }
        if body > 0 {
            let rc = output.withUnsafeMutableBufferPointer { out in
                input.withUnsafeBufferPointer { inp in
                    encrypt
                        ? EVP_EncryptUpdate(context, out.baseAddress, &length, inp.baseAddress, Int32(body))
                        : EVP_DecryptUpdate(context, out.baseAddress, &length, inp.baseAddress, Int32(body))
                }
            }
            guard rc == 1 else { throw PrimitivesError(.libraryFailure, operation) }
        }
        var tail = [UInt8](repeating: 0, count: 16)
        if encrypt {
            guard EVP_EncryptFinal_ex(context, &tail, &length) == 1 else { throw PrimitivesError(.libraryFailure, operation) }
            var tag = [UInt8](repeating: 0, count: self.tagSize)
            guard EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_GET_TAG, Int32(self.tagSize), &tag) == 1 else {
                throw PrimitivesError(.libraryFailure, operation)
            }
            output.replaceSubrange(body..<(body + self.tagSize), with: tag)
            return output
        }
        var tag = Array(input.suffix(self.tagSize))
        guard EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_TAG, Int32(self.tagSize), &tag) == 1 else {
            throw PrimitivesError(.libraryFailure, operation)
        }
        guard EVP_DecryptFinal_ex(context, &tail, &length) == 1 else {
            throw PrimitivesError(.authenticationFailure, operation)
        }
        return output
    }
}
