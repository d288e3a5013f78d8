import Foundation
import FuzzSupport
import Gateway
import GatewayWire
import Primitives
import SwiftProtobuf

/// `fuzz-gateway`: what an authenticated gateway connection reads from the network before the
/// database sees anything — a `ClientFrame` (docs/GATEWAY_SPEC.md §3–§4) through the connection
/// state machine, and the KeyPackages of an upload through `KeyPackageCheck` — and, when the
/// bytes are not a frame, the same bytes as a Server-Sent Events stream (the client's parser).
enum Fixture {
    static let nowMs: UInt64 = 1_790_000_000_000

    /// The device whose uploads are checked.
    static let device: VerifiedDeviceCertificate = {
        do {
            let systemKey = SignatureAlgorithm.ed25519.generatePrivateKey()
            let deviceKey = try SignatureAlgorithm.ed25519.publicKey(for: SignatureAlgorithm.ed25519.generatePrivateKey())
            let signed = try VerifiedDeviceCertificate.issue(
                systemKey: systemKey,
                deviceKey: deviceKey,
                deviceName: "fuzz",
                issuedAtMs: nowMs
            )
            return try VerifiedDeviceCertificate(signed, nowMs: nowMs)
        } catch {
            fatalError("fuzz-gateway could not make a device: \(error)")
        }
    }()

    static let seeds: [[UInt8]] = {
        var ping = Polygate_Gateway_V1_ClientFrame()
        ping.ping.clientTimeMs = 1
        var send = Polygate_Gateway_V1_ClientFrame()
        send.requestID = 2
        send.send.convID = Data(repeating: 1, count: 16)
        send.send.msgID = Data(repeating: 2, count: 16)
        send.send.kind = .commit
        send.send.addedUsers = [Data(repeating: 3, count: 32)]
        send.send.welcomeDevices = [Data(repeating: 4, count: 32)]
        var upload = Polygate_Gateway_V1_ClientFrame()
        upload.requestID = 3
        upload.uploadKeyPackages.keyPackages = [Data([0, 1, 0, 5, 0, 1])]
        var watch = Polygate_Gateway_V1_ClientFrame()
        watch.requestID = 4
        watch.watch.userIds = [Data(repeating: 5, count: 32), Data(repeating: 5, count: 32)]
        let frames = [ping, send, upload, watch].compactMap { try? $0.serializedBytes() as [UInt8] }
        return frames + [Array("id: 1\nevent: frame\ndata: CAE=\n\n: ping\n\n".utf8)]
    }()
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = FuzzDriver.bytes(data, size)
    if let frame = try? Polygate_Gateway_V1_ClientFrame(serializedBytes: bytes) {
        var machine = ConnectionStateMachine(limits: GatewayLimits(), now: .zero)
        machine.authenticated(userID: UserID(Array(repeating: 1, count: 32)), deviceID: DeviceID(Array(repeating: 2, count: 32)))
        if let body = frame.body { _ = machine.received(ConnectionStateMachine.Incoming(body), now: .seconds(1)) }
        if case .uploadKeyPackages(let upload) = frame.body {
            let check = KeyPackageCheck(device: Fixture.device)
            for keyPackage in upload.keyPackages.prefix(16) { _ = try? check.check([UInt8](keyPackage), nowMs: Fixture.nowMs) }
            if !upload.lastResort.isEmpty { _ = try? check.check([UInt8](upload.lastResort), nowMs: Fixture.nowMs) }
        }
        if case .claimKeyPackages(let claim) = frame.body { _ = try? KeyPackageCheck.checkSuite(claim.cipherSuite) }
    } else {
        var parser = ServerSentEvents.Parser()
        for event in parser.feed(bytes) { _ = ServerSentEvents.Parser.frame(of: event) }
    }
    return 0
}

@_cdecl("fuzz_gateway_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    FuzzDriver.run(argc, argv, seeds: { Fixture.seeds }, fuzzOne)
}
