import CLibPQ
import COpenSSL
import CReadline
import CSodium
import CSystemd
import Testing

/// Each Debian library links, imports through its shim and does real work.
@Suite struct SystemLibraryTests {
    @Test func libpqSupportsPipelineMode() {
        // Pipeline mode (PQenterPipelineMode) exists since libpq 14.
        #expect(PQlibVersion() >= 140000)
        #expect(PQisthreadsafe() == 1)
        #expect(cshim_pg_diag_sqlstate() == Int32(UInt8(ascii: "C")))
    }

    @Test func libsodiumSignsAndVerifies() {
        #expect(sodium_init() >= 0)
        var publicKey = [UInt8](repeating: 0, count: Int(crypto_sign_PUBLICKEYBYTES))
        var secretKey = [UInt8](repeating: 0, count: Int(crypto_sign_SECRETKEYBYTES))
        #expect(crypto_sign_keypair(&publicKey, &secretKey) == 0)
        let message = Array("polygate".utf8)
        var signature = [UInt8](repeating: 0, count: Int(crypto_sign_BYTES))
        #expect(crypto_sign_detached(&signature, nil, message, UInt64(message.count), secretKey) == 0)
        #expect(crypto_sign_verify_detached(signature, message, UInt64(message.count), publicKey) == 0)
        signature[0] ^= 1
        #expect(crypto_sign_verify_detached(signature, message, UInt64(message.count), publicKey) != 0)
    }

    @Test func libcryptoHashesTheFIPSVector() {
        #expect(OpenSSL_version_num() >= 0x3000_0000)
        // FIPS 180-2 test vector: SHA-256("abc").
        let input = Array("abc".utf8)
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        #expect(EVP_Digest(input, input.count, &digest, &length, EVP_sha256(), nil) == 1)
        #expect(length == 32)
        let hex = digest.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        #expect(hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func libsystemdSeesNoListenFdsOutsideSystemd() {
        #expect(SD_LISTEN_FDS_START == 3)
        // The test runner is not socket-activated.
        #expect(sd_listen_fds(0) == 0)
    }

    @Test func readlineIsVersionEight() {
        #expect(cshim_rl_readline_version() >= 0x0800)
        #expect(cshim_rl_library_version() != nil)
    }
}
