import Polycentric
import Primitives
import Testing

@Suite struct Base64Tests {
    @Test(arguments: [
        ("", "", ""), ("f", "Zg==", "Zg"), ("fo", "Zm8=", "Zm8"), ("foo", "Zm9v", "Zm9v"),
        ("foob", "Zm9vYg==", "Zm9vYg"), ("fooba", "Zm9vYmE=", "Zm9vYmE"), ("foobar", "Zm9vYmFy", "Zm9vYmFy"),
    ])
    func rfc4648Examples(plain: String, standard: String, urlSafe: String) {
        let bytes = Array(plain.utf8)
        #expect(Base64.encode(bytes, .standard) == standard)
        #expect(Base64.encode(bytes, .urlSafe) == urlSafe)
        #expect(Base64.decode(standard) == bytes)
        #expect(Base64.decode(urlSafe) == bytes)
    }

    @Test func alphabetsDifferOnlyInTwoSymbols() {
        let bytes: [UInt8] = [0xFB, 0xFF, 0xBF]
        #expect(Base64.encode(bytes, .standard) == "+/+/")
        #expect(Base64.encode(bytes, .urlSafe) == "-_-_")
        #expect(Base64.decode("+/+/") == bytes)
        #expect(Base64.decode("-_-_") == bytes)
    }

    @Test(arguments: ["Z", "Zg=", "Zg===", "Z=g=", "Zh==", "Zm9", "Zm9v!", "Zm 9v", "=Zm9"])
    func rejectsMalformedText(text: String) {
        // Z: impossible length; Zg=: bad padding; Zh==: non-zero trailing bits; Zm9: 0x66 0x6F
        // with leftover bits set; others: bad characters or misplaced padding.
        #expect(Base64.decode(text) == nil, "\(text)")
    }

    @Test func randomRoundTrips() {
        for length in 0..<70 {
            let bytes = SecureRandom.bytes(count: length)
            #expect(Base64.decode(Base64.encode(bytes, .standard)) == bytes)
            #expect(Base64.decode(Base64.encode(bytes, .urlSafe)) == bytes)
        }
    }
}

@Suite struct ClockRangesTests {
    @Test func normalisesOverlappingAndAdjacentRanges() {
        let ranges = ClockRanges([5...7, 1...2, 3...3, 9...9, 6...8])
        #expect(ranges.ranges == [1...3, 5...9])
        #expect(ranges.count == 8)
        #expect(ClockRanges(clocks: [4, 1, 2, 9, 3]).ranges == [1...4, 9...9])
        #expect(ClockRanges().isEmpty)
    }

    @Test func containsAndInsert() {
        var ranges = ClockRanges([1...3, 10...12])
        for clock: UInt64 in [1, 2, 3, 10, 11, 12] { #expect(ranges.contains(clock)) }
        for clock: UInt64 in [0, 4, 9, 13, 1000] { #expect(!ranges.contains(clock)) }
        ranges.insert(4)
        ranges.insert(9)
        #expect(ranges.ranges == [1...4, 9...12])
        ranges.insert(6)
        #expect(ranges.ranges == [1...4, 6...6, 9...12])
    }

    @Test func subtraction() {
        let have = ClockRanges([1...10, 20...30])
        #expect(have.subtracting(ClockRanges([3...4, 8...22, 30...40])).ranges == [1...2, 5...7, 23...29])
        #expect(have.subtracting(ClockRanges()).ranges == have.ranges)
        #expect(have.subtracting(ClockRanges([0...100])).isEmpty)
        #expect(ClockRanges().subtracting(have).isEmpty)
        #expect(ClockRanges([5...5]).subtracting(ClockRanges([1...4, 6...9])).ranges == [5...5])
    }

    /// Subtraction agrees with set arithmetic on random inputs.
    @Test func subtractionMatchesSets() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let a = Set((0..<20).map { _ in UInt64.random(in: 0..<60, using: &generator) })
            let b = Set((0..<20).map { _ in UInt64.random(in: 0..<60, using: &generator) })
            let difference = ClockRanges(clocks: a).subtracting(ClockRanges(clocks: b))
            #expect(difference == ClockRanges(clocks: a.subtracting(b)))
            #expect(difference.count == UInt64(a.subtracting(b).count))
        }
    }

    @Test func prefixPagesInOrder() {
        let ranges = ClockRanges([1...5, 10...30])
        #expect(ranges.prefix(3).ranges == [1...3])
        #expect(ranges.prefix(7).ranges == [1...5, 10...11])
        #expect(ranges.prefix(100) == ranges)
        #expect(ranges.prefix(0).isEmpty)
    }
}

@Suite struct ShareLinkTests {
    @Test func systemAndEventLinksRoundTrip() throws {
        let key = SystemKeyPair.generate()
        let process = Userpackage_Process.random()
        let links: [ShareLink] = [
            .system(key.system, servers: ["https://srv1.example.org", "https://srv2.example.org"]),
            .event(key.system, process: process, logicalClock: 42, servers: ["https://srv1.example.org"]),
            .system(key.system, servers: []),
        ]
        for link in links {
            let text = link.encoded
            #expect(!text.contains("+") && !text.contains("/") && !text.contains("="))
            #expect(try ShareLink(text) == link)
            #expect(try ShareLink("https://harbor.social/user/" + text) == link)
            #expect(try ShareLink("polycentric://" + text) == link)
        }
    }

    /// The bytes are `URLInfo { url_type, body = serialized link }` as upstream defines them.
    @Test func layoutFollowsTheProto() throws {
        let system = Userpackage_PublicKey.ed25519([UInt8](repeating: 7, count: 32))
        let bytes = try #require(Base64.decode(ShareLink.system(system, servers: ["s"]).encoded))
        let expectedBody: [UInt8] = [0x0A, 0x24] + system.serialized + [0x12, 0x01, UInt8(ascii: "s")]
        #expect(bytes == [0x08, 0x01, 0x12, UInt8(expectedBody.count)] + expectedBody)
    }

    @Test(arguments: ["", "***", "CAE", Base64.encode([0x08, 0x05, 0x12, 0x00], .urlSafe)])
    func rejectsWhatIsNotALink(text: String) {
        #expect(throws: PolycentricError.self) { try ShareLink(text) }
    }
}

@Suite struct ProcessLogRestoreTests {
    /// A client that stored its events continues its log exactly where it stopped: the next
    /// event restored is byte for byte the next event the original would have written.
    @Test func aLogRestoredFromItsEventsContinuesIdentically() throws {
        let key = SystemKeyPair.generate()
        var original = ProcessLog(key: key)
        var written: [VerifiedEvent] = []
        written.append(try original.post("one", at: 1_000))
        written.append(try original.set(.username, value: Array("alice".utf8), at: 2_000))
        written.append(try original.post("two", at: 3_000))
        written.append(try original.follow(SystemKeyPair.generate().system, at: 4_000))
        // Another process of the same system, and another system: ignored.
        var other = ProcessLog(key: key)
        let foreign = [try other.post("elsewhere", at: 5_000), try other.post("again", at: 6_000)]
        var stranger = ProcessLog(key: SystemKeyPair.generate(), process: original.process)
        let strangers = [try stranger.post("not mine", at: 7_000)]

        let restored = ProcessLog(key: key, process: original.process, events: (written + foreign + strangers).shuffled())
        #expect(restored.logicalClock == original.logicalClock)
        #expect(restored.logicalClock == 4)
        #expect(restored.indices.map(\.contentType) == original.indices.map(\.contentType))
        #expect(restored.indices.map(\.logicalClock) == original.indices.map(\.logicalClock))

        var next = restored
        let fromRestored = try next.post("three", at: 8_000)
        let fromOriginal = try original.post("three", at: 8_000)
        #expect(fromRestored.eventBytes == fromOriginal.eventBytes)
        #expect(fromRestored.logicalClock == 5)
    }

    @Test func aLogWithNoEventsOfItsOwnStartsAtZero() throws {
        let key = SystemKeyPair.generate()
        var other = ProcessLog(key: key)
        let restored = ProcessLog(key: key, process: .random(), events: [try other.post("x", at: 1)])
        #expect(restored.logicalClock == 0)
        #expect(restored.indices.isEmpty)
    }
}

@Suite struct VerifiedEventEncodingTests {
    /// Ingest stores `serializedSignedEvent`, written by hand: it must be the bytes SwiftProtobuf
    /// writes for the same SignedEvent, with one-byte and multi-byte lengths, and parse back.
    @Test(arguments: [1, 100, 200, 9_000])
    func serializedSignedEventIsSwiftProtobufs(length: Int) throws {
        var log = ProcessLog(key: .generate())
        let event = try log.post(String(repeating: "x", count: length))
        #expect(event.serializedSignedEvent == event.signedEvent.serialized)
        #expect(try VerifiedEvent(serialized: event.serializedSignedEvent) == event)
        guard case .post(let post) = event.content else {
            Issue.record("a post's content is kept parsed, found \(event.content)")
            return
        }
        #expect(post.content.count == length)
    }
}
