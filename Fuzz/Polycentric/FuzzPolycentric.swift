import Foundation
import FuzzSupport
import Polycentric
import Primitives
import Social

/// `fuzz-polycentric`: a `POST /events` body (Polycentric v1 `Events` of `SignedEvent`s) parsed
/// and verified as `SocialRoutes` does, and — to get past the signatures — the same bytes as
/// one unsigned `Event`, signed with a fixed key and planned for ingest (`IngestPlan`: content
/// parsing, deletes, references, the derived rows).
enum Fixture {
    static let key = SystemKeyPair.generate()

    static let seeds: [[UInt8]] = {
        var event = Userpackage_Event()
        event.system.keyType = 1
        event.system.key = Data(key.publicKey)
        event.process.process = Data(repeating: 7, count: 16)
        event.logicalClock = 1
        event.contentType = ContentType.post.rawValue
        var post = Userpackage_Post()
        post.content = "hello"
        event.content = (try? post.serializedData()) ?? Data()
        var seeds: [[UInt8]] = []
        if let bytes = try? event.serializedBytes() as [UInt8] { seeds.append(bytes) }
        if let signed = try? VerifiedEvent(signing: event, with: key) {
            var events = Userpackage_Events()
            events.events = [signed.signedEvent]
            if let bytes = try? events.serializedBytes() as [UInt8] { seeds.append(bytes) }
        }
        return seeds
    }()
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = FuzzDriver.bytes(data, size)
    if let events = try? Userpackage_Events.parse(bytes, what: "Events") {
        let verified = events.events.prefix(64).compactMap { try? VerifiedEvent($0) }
        _ = try? IngestPlan(verified)
    }
    if var event = try? Userpackage_Event.parse(bytes, what: "Event") {
        event.system.keyType = 1
        event.system.key = Data(Fixture.key.publicKey)
        if let signed = try? VerifiedEvent(signing: event, with: Fixture.key) {
            _ = try? IngestPlan([signed])
        }
    }
    return 0
}

@_cdecl("fuzz_polycentric_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    FuzzDriver.run(argc, argv, seeds: { Fixture.seeds }, fuzzOne)
}
