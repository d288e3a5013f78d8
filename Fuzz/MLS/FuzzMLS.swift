import FuzzSupport
import MLS
import Primitives

/// `fuzz-mls`: any bytes as an `MLSMessage` (RFC 9420 §6), and what a member does with it —
/// a PublicMessage or PrivateMessage processed by a member of a two-member group at epoch 1, a
/// Welcome joined with a new member's KeyPackage, a GroupInfo joined by external commit, a
/// KeyPackage added by a Commit. Seeds: messages of a real group (and the mlswg vectors, added
/// by scripts/fuzz.sh).
enum Fixture {
    static let suite = CipherSuite.mls128DHKEMX25519AES128GCMSHA256Ed25519

    struct State: Sendable {
        var alice: MLSGroup
        var bob: MLSGroup
        var carol: KeyPackageSecrets
        var daveKey: SecretBytes
        var daveLeaf: LeafNode
        var seeds: [[UInt8]]
    }

    static let state: State = {
        do {
            let aliceKey = suite.signature.generatePrivateKey()
            var alice = try MLSGroup.create(
                cipherSuite: suite,
                leafNode: try LeafNode.template(
                    credential: .basic(identity: Array("alice".utf8)),
                    signingKey: aliceKey,
                    cipherSuite: suite
                ),
                signingKey: aliceKey
            )
            let bobKeys = try KeyPackage.make(
                cipherSuite: suite,
                credential: .basic(identity: Array("bob".utf8)),
                signingKey: suite.signature.generatePrivateKey()
            )
            let added = try alice.addMembers([bobKeys.keyPackage])
            _ = try alice.process(added.commit)
            let bob = try MLSGroup(welcome: added.welcome!, keyPackage: bobKeys)
            let carol = try KeyPackage.make(
                cipherSuite: suite,
                credential: .basic(identity: Array("carol".utf8)),
                signingKey: suite.signature.generatePrivateKey()
            )
            let daveKey = suite.signature.generatePrivateKey()
            let daveLeaf = try LeafNode.template(
                credential: .basic(identity: Array("dave".utf8)),
                signingKey: daveKey,
                cipherSuite: suite
            )
            // Seeds: what bob would be sent at epoch 1, and what a newcomer would see.
            var sender = alice
            let application = try sender.encrypt(Array("hello".utf8))
            var committer = alice
            let addCarol = try committer.addMembers([carol.keyPackage])
            var updater = alice
            let update = try updater.update()
            let seeds: [[UInt8]] = [
                application.encoded, addCarol.commit.encoded, MLSMessage.welcome(addCarol.welcome!).encoded,
                MLSMessage.groupInfo(try alice.groupInfo()).encoded, MLSMessage.keyPackage(carol.keyPackage).encoded,
                update.commit.encoded,
            ]
            return State(alice: alice, bob: bob, carol: carol, daveKey: daveKey, daveLeaf: daveLeaf, seeds: seeds)
        } catch {
            fatalError("fuzz-mls could not set up its group: \(error)")
        }
    }()
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = FuzzDriver.bytes(data, size)
    guard let message = try? MLSMessage.decode(bytes) else { return 0 }
    let state = Fixture.state
    switch message {
    case .publicMessage, .privateMessage:
        var bob = state.bob
        _ = try? bob.process(message)
    case .welcome(let welcome):
        _ = try? MLSGroup(welcome: welcome, keyPackage: state.carol)
    case .groupInfo(let groupInfo):
        _ = try? MLSGroup.joinExternally(groupInfo: groupInfo, leafNode: state.daveLeaf, signingKey: state.daveKey)
    case .keyPackage(let keyPackage):
        var alice = state.alice
        _ = try? alice.addMembers([keyPackage])
    }
    // Whatever decoded encodes back to the same bytes (the codec is exact).
    if message.encoded != bytes { fatalError("MLSMessage re-encodes differently") }
    return 0
}

@_cdecl("fuzz_mls_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    FuzzDriver.run(argc, argv, seeds: { Fixture.state.seeds }, fuzzOne)
}
