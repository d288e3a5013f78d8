import MLS
import Primitives

/// `tree-math.json`: array-tree index arithmetic.
enum TreeMathCheck {
    struct Entry: Decodable {
        let n_leaves: UInt32
        let n_nodes: UInt32
        let root: UInt32
        let left: [UInt32?]
        let right: [UInt32?]
        let parent: [UInt32?]
        let sibling: [UInt32?]
    }

    static func run(_ e: Entry) throws {
        try expectEqual(TreeMath.nodeWidth(leaves: e.n_leaves), e.n_nodes, "n_nodes")
        try expectEqual(TreeMath.root(leaves: e.n_leaves), e.root, "root")
        for x in 0..<e.n_nodes {
            let i = Int(x)
            try expectEqual(TreeMath.left(x), e.left[i], "left(\(x))")
            try expectEqual(TreeMath.right(x), e.right[i], "right(\(x))")
            try expectEqual(TreeMath.parent(x, leaves: e.n_leaves), e.parent[i], "parent(\(x))")
            try expectEqual(TreeMath.sibling(x, leaves: e.n_leaves), e.sibling[i], "sibling(\(x))")
        }
    }
}

/// `deserialization.json`: variable-length vector headers.
enum DeserializationCheck {
    struct Entry: Decodable {
        let vlbytes_header: HexBytes
        let length: Int
    }

    static func run(_ e: Entry) throws {
        var reader = MLSReader(e.vlbytes_header.bytes)
        let value = try check("read varint") { try reader.readVarint() }
        try expectEqual(value, e.length, "length")
        try expectEqual(reader.isAtEnd, true, "header fully consumed")
        var writer = MLSWriter()
        writer.writeVarint(value)
        try expectEqual(writer.bytes, e.vlbytes_header.bytes, "re-encoded header")
    }
}

/// `crypto-basics.json`: the labelled operations of §5 and §8.
enum CryptoBasicsCheck {
    struct Entry: Decodable {
        let cipher_suite: UInt16
        let ref_hash: RefHash
        let expand_with_label: ExpandWithLabel
        let derive_secret: DeriveSecret
        let derive_tree_secret: DeriveTreeSecret
        let sign_with_label: SignWithLabel
        let encrypt_with_label: EncryptWithLabel

        struct RefHash: Decodable {
            let label: String
            let value: HexBytes
            let out: HexBytes
        }
        struct ExpandWithLabel: Decodable {
            let secret: HexBytes
            let label: String
            let context: HexBytes
            let length: Int
            let out: HexBytes
        }
        struct DeriveSecret: Decodable {
            let secret: HexBytes
            let label: String
            let out: HexBytes
        }
        struct DeriveTreeSecret: Decodable {
            let secret: HexBytes
            let label: String
            let generation: UInt32
            let length: Int
            let out: HexBytes
        }
        struct SignWithLabel: Decodable {
            let priv: HexBytes
            let pub: HexBytes
            let content: HexBytes
            let label: String
            let signature: HexBytes
        }
        struct EncryptWithLabel: Decodable {
            let priv: HexBytes
            let pub: HexBytes
            let label: String
            let context: HexBytes
            let plaintext: HexBytes
            let kem_output: HexBytes
            let ciphertext: HexBytes
        }
    }

    static func run(_ e: Entry) throws {
        let crypto = try MLSCrypto(suiteID: e.cipher_suite)
        try expectEqual(crypto.refHash(label: e.ref_hash.label, value: e.ref_hash.value.bytes), e.ref_hash.out.bytes, "RefHash")
        let x = e.expand_with_label
        try expectEqual(
            try crypto.expandWithLabel(secret: x.secret.bytes, label: x.label, context: x.context.bytes, length: x.length),
            x.out.bytes,
            "ExpandWithLabel"
        )
        try expectEqual(
            try crypto.deriveSecret(e.derive_secret.secret.bytes, label: e.derive_secret.label),
            e.derive_secret.out.bytes,
            "DeriveSecret"
        )
        let t = e.derive_tree_secret
        try expectEqual(
            try crypto.deriveTreeSecret(t.secret.bytes, label: t.label, generation: t.generation, length: t.length),
            t.out.bytes,
            "DeriveTreeSecret"
        )

        let s = e.sign_with_label
        try expectEqual(try crypto.suite.signature.publicKey(for: SecretBytes(s.priv.bytes)), s.pub.bytes, "signature public key")
        guard
            crypto.verifyWithLabel(publicKey: s.pub.bytes, label: s.label, content: s.content.bytes, signature: s.signature.bytes)
        else {
            throw VectorFailure("VerifyWithLabel rejected the vector's signature")
        }
        let own = try crypto.signWithLabel(privateKey: SecretBytes(s.priv.bytes), label: s.label, content: s.content.bytes)
        guard crypto.verifyWithLabel(publicKey: s.pub.bytes, label: s.label, content: s.content.bytes, signature: own) else {
            throw VectorFailure("VerifyWithLabel rejected our own SignWithLabel")
        }

        let c = e.encrypt_with_label
        let opened = try crypto.decryptWithLabel(
            privateKey: SecretBytes(c.priv.bytes),
            label: c.label,
            context: c.context.bytes,
            ciphertext: HPKECiphertext(kemOutput: c.kem_output.bytes, ciphertext: c.ciphertext.bytes)
        )
        try expectEqual(opened, c.plaintext.bytes, "DecryptWithLabel")
        let sealed = try crypto.encryptWithLabel(
            publicKey: c.pub.bytes,
            label: c.label,
            context: c.context.bytes,
            plaintext: c.plaintext.bytes
        )
        let reopened = try crypto.decryptWithLabel(
            privateKey: SecretBytes(c.priv.bytes),
            label: c.label,
            context: c.context.bytes,
            ciphertext: sealed
        )
        try expectEqual(reopened, c.plaintext.bytes, "EncryptWithLabel round trip")
    }
}

/// `psk_secret.json`: the PSK chain of §8.4.
enum PSKSecretCheck {
    struct Entry: Decodable {
        let cipher_suite: UInt16
        let psks: [PSK]
        let psk_secret: HexBytes

        struct PSK: Decodable {
            let psk_id: HexBytes
            let psk: HexBytes
            let psk_nonce: HexBytes
        }
    }

    static func run(_ e: Entry) throws {
        let crypto = try MLSCrypto(suiteID: e.cipher_suite)
        let psks = e.psks.map {
            KeySchedule.PSK(
                id: PreSharedKeyID(kind: .external(pskID: $0.psk_id.bytes), nonce: $0.psk_nonce.bytes),
                secret: SecretBytes($0.psk.bytes)
            )
        }
        try expectEqual(try KeySchedule.pskSecret(psks, crypto: crypto), e.psk_secret.bytes, "psk_secret")
    }
}
