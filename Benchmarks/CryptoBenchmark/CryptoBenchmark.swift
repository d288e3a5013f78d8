import MLS
import Primitives

#if canImport(Glibc)
import Glibc
#endif

/// `crypto-benchmark [SECONDS]`: operations per second of the MLS crypto core for every cipher
/// suite — HPKE seal/open (EncryptWithLabel of 32 B, as TreeKEM does), sign/verify (SignWithLabel
/// of 256 B) and PrivateMessage protect/unprotect of 1 KiB application data.
@main
enum CryptoBenchmark {
    static func main() throws {
        let seconds = CommandLine.arguments.count > 1 ? Double(CommandLine.arguments[1]) ?? 0.5 : 0.5
        print(
            "suite                                                 HPKE seal  HPKE open     sign   verify  PM protect PM unprotect   (ops/s)"
        )
        for suite in CipherSuite.all {
            let crypto = MLSCrypto(suite: suite)
            let (hpkePrivate, hpkePublic) = try crypto.deriveKeyPair(SecureRandom.bytes(count: suite.secretSize))
            let secret = SecureRandom.bytes(count: 32)
            let sealed = try crypto.encryptWithLabel(
                publicKey: hpkePublic,
                label: "UpdatePathNode",
                context: [1],
                plaintext: secret
            )
            let seal = try rate(seconds) {
                _ = try crypto.encryptWithLabel(publicKey: hpkePublic, label: "UpdatePathNode", context: [1], plaintext: secret)
            }
            let open = try rate(seconds) {
                _ = try crypto.decryptWithLabel(
                    privateKey: hpkePrivate,
                    label: "UpdatePathNode",
                    context: [1],
                    ciphertext: sealed
                )
            }

            let signingKey = suite.signature.generatePrivateKey()
            let verifyingKey = try suite.signature.publicKey(for: signingKey)
            let content = SecureRandom.bytes(count: 256)
            let signature = try crypto.signWithLabel(privateKey: signingKey, label: "FramedContentTBS", content: content)
            let sign = try rate(seconds) {
                _ = try crypto.signWithLabel(privateKey: signingKey, label: "FramedContentTBS", content: content)
            }
            let verify = try rate(seconds) {
                guard
                    crypto.verifyWithLabel(
                        publicKey: verifyingKey,
                        label: "FramedContentTBS",
                        content: content,
                        signature: signature
                    )
                else {
                    fatalError("verification failed")
                }
            }

            let context = GroupContext(
                cipherSuite: suite.id,
                groupID: SecureRandom.bytes(count: 16),
                epoch: 1,
                treeHash: SecureRandom.bytes(count: suite.secretSize),
                confirmedTranscriptHash: SecureRandom.bytes(count: suite.secretSize),
                extensions: []
            )
            let encryptionSecret = SecretBytes.random(count: suite.secretSize)
            let senderDataSecret = SecretBytes.random(count: suite.secretSize)
            var senderTree = SecretTree(
                crypto: crypto,
                encryptionSecret: encryptionSecret,
                leafCount: 64,
                limits: .init(maximumForwardDistance: .max - 1)
            )
            let body = FramedContent.Body.application(SecureRandom.bytes(count: 1024))
            let framed = FramedContent(
                groupID: context.groupID,
                epoch: 1,
                sender: .member(leafIndex: 5),
                authenticatedData: [],
                body: body
            )
            var messages: [PrivateMessage] = []
            let protect = try rate(seconds) {
                let authenticated = try AuthenticatedContent.sign(
                    wireFormat: .privateMessage,
                    content: framed,
                    signaturePrivateKey: signingKey,
                    context: context,
                    crypto: crypto
                )
                messages.append(
                    try PrivateMessage.protect(
                        authenticated,
                        secretTree: &senderTree,
                        senderDataSecret: senderDataSecret,
                        crypto: crypto
                    )
                )
            }
            // Unprotect exactly the messages protected above, in order, and time that.
            var receiverTree = SecretTree(
                crypto: crypto,
                encryptionSecret: encryptionSecret,
                leafCount: 64,
                limits: .init(maximumForwardDistance: .max - 1)
            )
            let clock = ContinuousClock()
            let started = clock.now
            for message in messages {
                _ = try message.unprotect(
                    secretTree: &receiverTree,
                    senderDataSecret: senderDataSecret,
                    context: context,
                    crypto: crypto,
                    signaturePublicKey: { _ in verifyingKey }
                )
            }
            let took = clock.now - started
            let unprotect =
                Double(messages.count) / (Double(took.components.seconds) + Double(took.components.attoseconds) / 1e18)
            print(
                pad(suite.name, 52)
                    + [seal, open, sign, verify, protect, unprotect].map { pad(String(Int($0)), 10, left: true) }.joined(
                        separator: " "
                    )
            )
        }
    }

    /// Calls `body` repeatedly for `seconds` and returns calls per second.
    static func rate(_ seconds: Double, _ body: () throws -> Void) throws -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start + .milliseconds(Int(seconds * 1000))
        var count = 0
        while clock.now < deadline {
            try body()
            count += 1
        }
        let elapsed = clock.now - start
        return Double(count) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }

    static func pad(_ text: String, _ width: Int, left: Bool = false) -> String {
        let space = String(repeating: " ", count: max(0, width - text.count))
        return left ? space + text : text + space
    }
}
