import Foundation
import Polycentric
import Primitives
import SwiftProtobuf
import Testing

/// The self-derived Polycentric v1 vectors, byte for byte: keys and ids, the six events built
/// by `ProcessLog`, signatures, digests, pointers, the POST body, request URLs, and one real
/// upstream request.
@Suite struct VectorTests {
    let vectors: PolycentricVectors
    let key: SystemKeyPair

    init() throws {
        self.vectors = try PolycentricVectors.load()
        self.key = try SystemKeyPair(seed: SecretBytes(hex(self.vectors.seedHex)))
    }

    var process: Userpackage_Process { Userpackage_Process(hex(self.vectors.processHex)) }

    /// The six events, written as the vectors describe them (time 1700000000000 + clock − 1).
    func buildEvents() throws -> [VerifiedEvent] {
        var log = ProcessLog(key: self.key, process: self.process)
        let base: UInt64 = 1_700_000_000_000
        let post = try log.post("hello", at: base)
        let username = try log.set(.username, value: Array("alice".utf8), at: base + 1)
        let reply = try log.post("reply", replyTo: post.pointer, at: base + 2)
        let follow = try log.follow(.ed25519([UInt8](repeating: 0, count: 32)), at: base + 3)
        let like = try log.opinion(Opinion.like, on: post.pointer, at: base + 4)
        let delete = try log.delete(reply, at: base + 5)
        return [post, username, reply, follow, like, delete]
    }

    @Test func keysAndIDs() throws {
        #expect(self.key.publicKey == hex(self.vectors.publicKeyHex))
        let system = self.key.system
        #expect(system.serialized == hex(self.vectors.publicKeyProtoHex))
        #expect(system.id == self.vectors.systemID)
        #expect(system.queryID == self.vectors.systemQueryID)
        #expect(try Userpackage_PublicKey(id: self.vectors.systemID) == system)
        #expect(try Userpackage_PublicKey(id: self.vectors.systemQueryID) == system)
        #expect(self.process.serialized == hex(self.vectors.processProtoHex))
        #expect(self.process.id == self.vectors.processID)
    }

    @Test func eventsAreBuiltSignedAndHashedByteExactly() throws {
        let built = try self.buildEvents()
        #expect(built.count == self.vectors.events.count)
        for (event, vector) in zip(built, self.vectors.events) {
            #expect(event.logicalClock == vector.logicalClock, "\(vector.name)")
            #expect(event.contentType.rawValue == vector.contentType, "\(vector.name)")
            #expect([UInt8](event.event.content) == hex(vector.contentHex), "\(vector.name)")
            #expect(event.eventBytes == hex(vector.eventBytesHex), "\(vector.name)")
            #expect(event.signature == hex(vector.signatureHex), "\(vector.name)")
            #expect(event.digest == hex(vector.digestHex), "\(vector.name)")
            #expect(event.pointer.serialized == hex(vector.pointerHex), "\(vector.name)")
            #expect(event.pointer.id == vector.pointerID, "\(vector.name)")
            #expect(event.signedEvent.serialized == hex(vector.signedEventHex), "\(vector.name)")
        }
        var body = Userpackage_Events()
        body.events = built.map(\.signedEvent)
        #expect(body.serialized == hex(self.vectors.postBodyHex))
    }

    @Test func vectorEventsParseVerifyAndReencodeUnchanged() throws {
        for vector in self.vectors.events {
            let verified = try VerifiedEvent(serialized: hex(vector.signedEventHex))
            #expect(verified.eventBytes == hex(vector.eventBytesHex))
            #expect(verified.event.serialized == hex(vector.eventBytesHex), "\(vector.name): re-encoding differs")
            #expect(verified.systemKey == hex(self.vectors.publicKeyHex))
        }
    }

    @Test func everySingleByteFlipOfAnEventFailsVerification() throws {
        let vector = self.vectors.events[2]
        let bytes = hex(vector.eventBytesHex)
        for position in bytes.indices {
            var tampered = bytes
            tampered[position] ^= 0x01
            var signed = Userpackage_SignedEvent()
            signed.event = Data(tampered)
            signed.signature = Data(hex(vector.signatureHex))
            #expect(throws: PolycentricError.self, "flip at \(position)") { try VerifiedEvent(signed) }
        }
        var badSignature = Userpackage_SignedEvent()
        badSignature.event = Data(bytes)
        var signature = hex(vector.signatureHex)
        signature[63] ^= 0x80
        badSignature.signature = Data(signature)
        let error = #expect(throws: PolycentricError.self) { try VerifiedEvent(badSignature) }
        #expect(error?.code == .invalidSignature)
    }

    /// An event with a field this version does not know is verified and kept over its own
    /// bytes; the unknown field survives parsing.
    @Test func unknownFieldsAreKeptAndTheOriginalBytesVerified() throws {
        var bytes = hex(self.vectors.events[0].eventBytesHex)
        bytes += [0xF8, 0x06, 0x2A]  // field 111, varint 42
        var signed = Userpackage_SignedEvent()
        signed.event = Data(bytes)
        signed.signature = Data(self.key.sign(bytes))
        let verified = try VerifiedEvent(signed)
        #expect(verified.eventBytes == bytes)
        #expect(verified.event.serialized == bytes)
        #expect(verified.digest == HashFunction.sha256.hash(bytes))
        #expect(verified.signedEvent.serialized == signed.serialized)
    }

    @Test func requestPathsMatchTheVectors() throws {
        let system = self.key.system
        #expect(RequestPaths.ranges(system: system) == self.vectors.rangesQuery)
        let ranges = Userpackage_RangesForSystem([(self.process, ClockRanges([1...6]))])
        #expect(ranges.serialized == hex(self.vectors.rangesHex))
        #expect(RequestPaths.events(system: system, ranges: ranges) == self.vectors.eventsQuery)
        #expect(
            RequestPaths.queryLatest(system: system, contentTypes: [.username, .description, .avatar])
                == self.vectors.queryLatestQuery
        )
        var request = Userpackage_QueryReferencesRequest()
        request.reference = try self.buildEvents()[0].pointer.reference
        request.requestEvents.fromType = ContentType.post.rawValue
        #expect(RequestPaths.queryReferences(request) == self.vectors.queryReferencesQuery)
    }

    @Test func upstreamQueryReferencesStringDecodesAndReencodes() throws {
        let text = self.vectors.upstream.queryReferences
        let bytes = try #require(Base64.decode(text))
        let request = try Userpackage_QueryReferencesRequest(serializedBytes: bytes)
        #expect(request.reference.referenceType == ReferenceType.pointer)
        let pointer = try Userpackage_Pointer(serializedBytes: request.reference.reference)
        #expect(pointer.system.keyType == 1)
        #expect(Hex.encode(pointer.system.key) == "d5a819b7d84d9c17b04b0009e1bd070333f9ba359904bc78dc113a9ce62dbaf8")
        #expect(Hex.encode(pointer.process.process) == "49ac9662a2e3034403759dd5fed91a59")
        #expect(pointer.logicalClock == 7)
        #expect(pointer.eventDigest.digestType == 1)
        #expect(Hex.encode(pointer.eventDigest.digest) == "6960604f700b4d95e7aaa7d17cb8c0c09254103fea630a1f800e17f271217077")
        #expect(request.requestEvents.fromType == 3)
        #expect(RequestPaths.parameter(request) == text)
        #expect(Base64.decode(self.vectors.upstream.trustRoot)?.count == 32)
    }
}
