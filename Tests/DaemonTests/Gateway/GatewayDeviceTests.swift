import Control
import Foundation
import GatewayClient
import GatewayWire
import Primitives
import TestSupport
import Testing

/// A user's own devices through the real daemon (docs/GATEWAY_SPEC.md §4.3): listed, and
/// revoked by the user with a request its system key signs — never by a device key alone,
/// never another user's device, never with a stale signature.
@Suite struct GatewayDeviceTests {
    typealias User = GatewayHarness.User

    static func revocation(
        of device: DeviceID,
        key: SecretBytes,
        gatewayID: String = "gw_test",
        signedAtMs: UInt64 = nowMs()
    ) throws -> Polygate_Gateway_V1_RevokeDevice {
        var revoke = Polygate_Gateway_V1_RevokeDevice()
        revoke.deviceID = Data(device)
        revoke.signedAtMs = signedAtMs
        let transcript = Handshake.revocationTranscript(gatewayID: gatewayID, deviceID: device, signedAtMs: signedAtMs)
        revoke.signature = Data(try SignatureAlgorithm.ed25519.sign(transcript, privateKey: key))
        return revoke
    }

    @Test func aUserListsAndRevokesItsOwnDevicesOnly() async throws {
        try await GatewayHarness.run { gateway in
            let (alice, bob) = (User(), User())
            let (phone, laptop, b) = (try alice.device("phone"), try alice.device("laptop"), try bob.device("bob"))
            try await gateway.register(phone, laptop, b)
            try await gateway.connected(phone) { connection in
                let listed = try await connection.call(.listDevices(.init())).ownDevices.devices
                #expect(listed.map(\.name) == ["phone", "laptop"])
                #expect(listed.map { DeviceID($0.deviceID) } == [phone.deviceID, laptop.deviceID])
                #expect(listed.allSatisfy { $0.revokedMs == 0 && $0.registeredMs > 0 })

                // Signed by a device key, not the user's system key: refused.
                await expectServerError(.badSignature) {
                    _ = try await connection.call(.revokeDevice(try Self.revocation(of: laptop.deviceID, key: phone.deviceKey)))
                }
                // Signed for another gateway, or 11 minutes ago: refused.
                await expectServerError(.badSignature) {
                    _ = try await connection.call(
                        .revokeDevice(try Self.revocation(of: laptop.deviceID, key: alice.systemKey, gatewayID: "gw_other"))
                    )
                }
                await expectServerError(.badSignature) {
                    let stale = nowMs() - 11 * 60 * 1000
                    _ = try await connection.call(
                        .revokeDevice(try Self.revocation(of: laptop.deviceID, key: alice.systemKey, signedAtMs: stale))
                    )
                }
                // Another user's device, even correctly signed by alice: not hers.
                await expectServerError(.unknownDevice) {
                    _ = try await connection.call(.revokeDevice(try Self.revocation(of: b.deviceID, key: alice.systemKey)))
                }
                // Her laptop, signed by her system key: revoked — its connection is closed.
                try await gateway.connected(laptop) { laptopConnection in
                    _ = try await laptopConnection.backlog()
                    _ = try await connection.call(.revokeDevice(try Self.revocation(of: laptop.deviceID, key: alice.systemKey)))
                    try await expectClosed(laptopConnection, CloseCode.deviceRevoked)
                }
                let after = try await connection.call(.listDevices(.init())).ownDevices.devices
                #expect(after.first { DeviceID($0.deviceID) == laptop.deviceID }?.revokedMs ?? 0 > 0)
                #expect(after.first { DeviceID($0.deviceID) == phone.deviceID }?.revokedMs == 0)
            }
            // It cannot come back, and bob's device was untouched.
            try await GatewayConnection.withWebSocket(host: "127.0.0.1", port: gateway.port) { connection in
                await expectServerError(.badCertificate) { try await connection.authenticate(laptop) }
            }
            try await gateway.connected(b) { connection in _ = try await connection.backlog() }
            // The ledger says who revoked it.
            let ledger = try await Gwctl.ok(["--json", "ledger", "tail", "-e", "device.revoked"], socket: gateway.controlPath)
                .items()
            #expect(ledger.count == 1)
            #expect(ledger.first?["actor"]?.string == "user \(Hex.encode(alice.id))")
            #expect(ledger.first?["subject"]?.string == laptop.deviceID.hex)
        }
    }

    @Test func aDeviceIsShownConnectedNowOrWithWhenItWasLastSeen() async throws {
        try await GatewayHarness.run { gateway in
            let alice = User()
            let (phone, laptop) = (try alice.device("phone"), try alice.device("laptop"))
            let before = nowMs()
            try await gateway.register(phone, laptop)
            try await gateway.connected(phone) { connection in
                func listed() async throws -> [DeviceID: Polygate_Gateway_V1_DeviceInfo] {
                    let devices = try await connection.call(.listDevices(.init())).ownDevices.devices
                    return Dictionary(uniqueKeysWithValues: devices.map { (DeviceID($0.deviceID), $0) })
                }
                // Registered and gone: last seen since the test began, not connected. The asking
                // device is connected.
                try await eventually("the laptop's last-seen is written") {
                    try await listed()[laptop.deviceID]?.lastSeenMs ?? 0 >= before
                }
                #expect(try await listed()[laptop.deviceID]?.connected == false)
                #expect(try await listed()[phone.deviceID]?.connected == true)
                #expect(try await listed()[phone.deviceID]?.lastSeenMs ?? 0 >= before)
                let disconnected = try #require(try await listed()[laptop.deviceID]?.lastSeenMs)
                // While the laptop is connected it shows so; when it leaves, its last-seen moves on.
                try await Task.sleep(for: .milliseconds(20))
                try await gateway.connected(laptop) { laptopConnection in
                    _ = try await laptopConnection.backlog()
                    try await eventually("the laptop shows connected") { try await listed()[laptop.deviceID]?.connected == true }
                }
                try await eventually("the laptop shows gone, seen later") {
                    let info = try await listed()[laptop.deviceID]
                    return info?.connected == false && info?.lastSeenMs ?? 0 > disconnected
                }
            }
        }
    }
}
