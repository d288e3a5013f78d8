import Primitives
import Testing

/// PBKDF2-HMAC-SHA-256 against RFC 7914 §11 (the two PBKDF2 vectors of the scrypt RFC).
@Suite struct PBKDF2Tests {
    @Test func rfc7914Vectors() throws {
        let one = try PBKDF2.sha256(password: Array("passwd".utf8), salt: Array("salt".utf8), iterations: 1, length: 64)
        #expect(
            Hex.encode(one.bytes)
                == "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"
        )
        let many = try PBKDF2.sha256(password: Array("Password".utf8), salt: Array("NaCl".utf8), iterations: 80000, length: 64)
        #expect(
            Hex.encode(many.bytes)
                == "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d"
        )
    }

    @Test func nonsenseParametersAreRefused() {
        for (iterations, length) in [(0, 32), (1, 0), (-5, 32), (1, 4096)] {
            #expect(throws: PrimitivesError.self, "\(iterations) \(length)") {
                try PBKDF2.sha256(password: [1], salt: [2], iterations: iterations, length: length)
            }
        }
    }
}
