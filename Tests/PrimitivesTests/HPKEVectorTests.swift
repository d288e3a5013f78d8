import Foundation
import Primitives
import Testing

/// RFC 9180 Appendix A: all 128 vectors (4 modes × 4 KEMs × 2 KDFs × 4 AEADs), every field.
@Suite struct HPKEVectorTests {
    struct Vector: Decodable {
        let mode: UInt8
        let kem_id: UInt16
        let kdf_id: UInt16
        let aead_id: UInt16
        let info: HexBytes
        let ikmR: HexBytes
        let ikmE: HexBytes
        let ikmS: HexBytes?
        let skRm: HexBytes
        let skEm: HexBytes
        let skSm: HexBytes?
        let pkRm: HexBytes
        let pkEm: HexBytes
        let pkSm: HexBytes?
        let enc: HexBytes
        let psk: HexBytes?
        let psk_id: HexBytes?
        let encryptions: [Encryption]
        let exports: [Export]

        struct Encryption: Decodable {
            let aad: HexBytes
            let ct: HexBytes
            let nonce: HexBytes
            let pt: HexBytes
        }

        struct Export: Decodable {
            let exporter_context: HexBytes
            let L: Int
            let exported_value: HexBytes
        }
    }

    static let vectors: [Vector] = (try? VectorFiles.load("hpke/rfc9180-test-vectors.json", as: [Vector].self)) ?? []

    @Test func theFileHasAllVectors() {
        #expect(Self.vectors.count == 128)
    }

    @Test(arguments: 0..<128)
    func vectorPassesWhole(index: Int) throws {
        let v = try #require(Self.vectors.count > index ? Self.vectors[index] : nil)
        let kem = try #require(HPKE.KEM(rawValue: v.kem_id))
        let suite = HPKE.Suite(
            kem: kem,
            kdf: try #require(HPKE.KDF(rawValue: v.kdf_id)),
            aead: try #require(HPKE.AEAD(rawValue: v.aead_id))
        )

        // DeriveKeyPair for every key in the vector.
        let recipient = try kem.deriveKeyPair(ikm: v.ikmR.bytes)
        #expect(recipient.privateKey.bytes == v.skRm.bytes)
        #expect(recipient.publicKey == v.pkRm.bytes)
        let ephemeral = try kem.deriveKeyPair(ikm: v.ikmE.bytes)
        #expect(ephemeral.privateKey.bytes == v.skEm.bytes)
        #expect(ephemeral.publicKey == v.pkEm.bytes)
        var sender: (privateKey: SecretBytes, publicKey: [UInt8])?
        if let ikmS = v.ikmS {
            let pair = try kem.deriveKeyPair(ikm: ikmS.bytes)
            #expect(pair.privateKey.bytes == v.skSm?.bytes)
            #expect(pair.publicKey == v.pkSm?.bytes)
            sender = pair
        }
        let psk = v.psk.map { HPKE.PreSharedKey(key: SecretBytes($0.bytes), id: v.psk_id?.bytes ?? []) }

        // The sender's side with the vector's ephemeral key reproduces enc and every ciphertext.
        var (enc, sealer) = try HPKE.makeSender(
            suite: suite,
            recipientKey: v.pkRm.bytes,
            info: v.info.bytes,
            psk: psk,
            sender: sender,
            ephemeral: ephemeral
        )
        #expect(enc == v.enc.bytes)
        var opener = try HPKE.makeRecipient(
            suite: suite,
            encapsulatedKey: v.enc.bytes,
            recipientKey: recipient.privateKey,
            info: v.info.bytes,
            psk: psk,
            senderPublicKey: sender?.publicKey
        )
        for (sequence, encryption) in v.encryptions.enumerated() {
            let ct = try sealer.seal(encryption.pt.bytes, associatedData: encryption.aad.bytes)
            #expect(ct == encryption.ct.bytes, "seal #\(sequence)")
            let pt = try opener.open(encryption.ct.bytes, associatedData: encryption.aad.bytes)
            #expect(pt == encryption.pt.bytes, "open #\(sequence)")
        }
        for export in v.exports {
            #expect(try sealer.export(context: export.exporter_context.bytes, length: export.L) == export.exported_value.bytes)
            #expect(try opener.export(context: export.exporter_context.bytes, length: export.L) == export.exported_value.bytes)
        }
        if suite.aead == .exportOnly {
            #expect(throws: PrimitivesError.self) { try sealer.seal([1, 2, 3]) }
        }
    }

    @Test func vectorsCoverEveryModeKEMKDFAndAEADWeShipForDHKEM() {
        let combinations = Set(Self.vectors.map { "\($0.mode)/\($0.kem_id)/\($0.kdf_id)/\($0.aead_id)" })
        #expect(combinations.count == 128)
        #expect(Set(Self.vectors.map(\.kem_id)) == [0x10, 0x12, 0x20, 0x21])
    }
}
