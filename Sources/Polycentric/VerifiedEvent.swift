import Foundation
package import Primitives

/// A SignedEvent whose signature was checked over the exact event bytes it arrived with. The
/// bytes are kept verbatim: they are what is stored, hashed and served, never a re-encoding.
package struct VerifiedEvent: Sendable, Hashable {
    /// The serialized `Event`, exactly as signed.
    package let eventBytes: [UInt8]
    /// The 64-byte Ed25519 signature.
    package let signature: [UInt8]
    /// The parsed event (unknown fields kept).
    package let event: Userpackage_Event
    /// The raw 32-byte system key.
    package let systemKey: [UInt8]
    /// The 16-byte process id.
    package let process: [UInt8]
    /// The content, parsed once here for the types whose content the server reads (ingest
    /// uses it instead of parsing again).
    package let content: Content

    /// The parsed content of a Delete, Claim or Post; `.other` for every other type.
    package enum Content: Sendable {
        case delete(Userpackage_Delete)
        case claim(Userpackage_Claim)
        case post(Userpackage_Post)
        case other
    }

    /// Parses, validates and verifies a `SignedEvent` as upstream's server does on ingest:
    /// key type 1 with a 32-byte key, a 16-byte process, `vector_clock` and `indices` present,
    /// references of types 1–3, Delete and Claim content that parses, and the signature.
    package init(_ signed: Userpackage_SignedEvent) throws(PolycentricError) {
        let bytes = [UInt8](signed.event)
        let event = try Userpackage_Event.parse(bytes, what: "SignedEvent.event")
        guard event.hasSystem else { throw PolycentricError(.missingField, "event without system") }
        guard event.hasProcess else { throw PolycentricError(.missingField, "event without process") }
        guard event.hasVectorClock else { throw PolycentricError(.missingField, "event without vector_clock") }
        guard event.hasIndices else { throw PolycentricError(.missingField, "event without indices") }
        let system = try event.system.validated()
        guard event.process.process.count == 16 else {
            throw PolycentricError(.badProcess, "a process is 16 bytes, not \(event.process.process.count)")
        }
        guard event.logicalClock < 1 << 63 else { throw PolycentricError(.badParameter, "logical_clock does not fit in 63 bits") }
        for reference in event.references where !(1...3).contains(reference.referenceType) {
            throw PolycentricError(.badReference, "reference_type \(reference.referenceType) (1 system, 2 pointer, 3 bytes)")
        }
        switch ContentType(event.contentType) {
        case .delete:
            let delete = try Userpackage_Delete.parse([UInt8](event.content), what: "Delete content")
            guard delete.process.process.count == 16 else {
                throw PolycentricError(.badContent, "Delete of a process that is not 16 bytes")
            }
            self.content = .delete(delete)
        case .claim:
            self.content = .claim(try Userpackage_Claim.parse([UInt8](event.content), what: "Claim content"))
        case .post:
            let post = try Userpackage_Post.parse([UInt8](event.content), what: "Post content")
            guard post.content.utf8.count <= 10_000 else {
                throw PolycentricError(.badContent, "a post's text is over 10,000 bytes")
            }
            self.content = .post(post)
        default:
            self.content = .other
        }
        let signature = [UInt8](signed.signature)
        let systemKey = [UInt8](system.key)
        guard SignatureAlgorithm.ed25519.verify(signature, message: bytes, publicKey: systemKey) else {
            throw PolycentricError(.invalidSignature, "the signature does not verify over the event bytes")
        }
        self.eventBytes = bytes
        self.signature = signature
        self.event = event
        self.systemKey = systemKey
        self.process = [UInt8](event.process.process)
    }

    /// Parses and verifies a serialized `SignedEvent`.
    package init(serialized: [UInt8]) throws(PolycentricError) {
        try self.init(Userpackage_SignedEvent.parse(serialized, what: "SignedEvent"))
    }

    /// Signs `event` with `key` (the event's system must be `key`'s).
    package init(signing event: Userpackage_Event, with key: SystemKeyPair) throws(PolycentricError) {
        var signed = Userpackage_SignedEvent()
        let bytes = event.serialized
        signed.event = Data(bytes)
        signed.signature = Data(key.sign(bytes))
        try self.init(signed)
    }

    /// The SignedEvent to send or serve (without moderation tags).
    package var signedEvent: Userpackage_SignedEvent {
        var signed = Userpackage_SignedEvent()
        signed.signature = Data(self.signature)
        signed.event = Data(self.eventBytes)
        return signed
    }

    package var logicalClock: UInt64 { self.event.logicalClock }
    package var contentType: ContentType { ContentType(self.event.contentType) }
    /// `unix_milliseconds` when present.
    package var unixMilliseconds: UInt64? { self.event.hasUnixMilliseconds ? self.event.unixMilliseconds : nil }

    /// The serialized SignedEvent (without moderation tags), as SwiftProtobuf would write it:
    /// field 1 the signature, field 2 the event bytes. Written directly: ingest stores it for
    /// every event, and building the message to serialize it cost more than the bytes.
    package var serializedSignedEvent: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(self.signature.count + self.eventBytes.count + 12)
        for (tag, field) in [(UInt8(0x0a), self.signature), (0x12, self.eventBytes)] where !field.isEmpty {
            out.append(tag)
            var length = UInt64(field.count)
            while length >= 0x80 {
                out.append(UInt8(truncatingIfNeeded: length) | 0x80)
                length >>= 7
            }
            out.append(UInt8(length))
            out += field
        }
        return out
    }

    /// SHA-256 of the event bytes (not of the SignedEvent).
    package var digest: [UInt8] { HashFunction.sha256.hash(self.eventBytes) }

    /// The Pointer to this event.
    package var pointer: Userpackage_Pointer {
        var pointer = Userpackage_Pointer()
        pointer.system = self.event.system
        pointer.process = self.event.process
        pointer.logicalClock = self.event.logicalClock
        pointer.eventDigest.digestType = 1
        pointer.eventDigest.digest = Data(self.digest)
        return pointer
    }

    package static func == (lhs: VerifiedEvent, rhs: VerifiedEvent) -> Bool {
        lhs.eventBytes == rhs.eventBytes && lhs.signature == rhs.signature
    }

    package func hash(into hasher: inout Hasher) {
        hasher.combine(self.eventBytes)
        hasher.combine(self.signature)
    }
}

extension Userpackage_Process {
    /// A process from its 16 bytes.
    package init(_ bytes: [UInt8]) {
        self.init()
        self.process = Data(bytes)
    }

    /// A fresh random process id.
    package static func random() -> Userpackage_Process { Userpackage_Process(SecureRandom.bytes(count: 16)) }

    /// Standard base64 of the serialized Process (24 characters).
    package var id: String { Base64.encode(self.serialized, .standard) }
}

extension Userpackage_Pointer {
    /// Standard base64 of the serialized Pointer (cache tags, search ids).
    package var id: String { Base64.encode(self.serialized, .standard) }

    /// A Reference of type 2 to this pointer.
    package var reference: Userpackage_Reference {
        var reference = Userpackage_Reference()
        reference.referenceType = ReferenceType.pointer
        reference.reference = Data(self.serialized)
        return reference
    }
}
