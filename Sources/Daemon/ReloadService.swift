import Foundation
import Gateway
import HTTPFront
import Logging
import Primitives
import ServiceLifecycle
import Systemd
import UnixSignals

#if canImport(Glibc)
import Glibc
#endif

/// SIGHUP (`systemctl reload polygated`): reads the TLS certificate and key again, for new
/// connections (open ones keep theirs: nothing is dropped), and the sealed-session key file
/// (after `polygated rotate-keys`). A certificate or key file that cannot be loaded leaves the
/// one in use, with an error in the log. Other settings need a restart. SIGHUP never stops the
/// daemon.
struct ReloadService: Service {
    let tls: ServerTLS?
    let keys: GatewayKeyStore
    let notifier: SystemdNotifier
    let logger: Logger

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            _ = self.notifier.notify(.reloading, .status("reloading"))
            if let tls = self.tls {
                do {
                    let loaded = try tls.reload()
                    Self.log(loaded, files: tls.files, reloaded: true, logger: self.logger)
                } catch {
                    self.logger.error(
                        "TLS certificate not reloaded: the previous one stays in use",
                        metadata: ["error": "\(error)"]
                    )
                }
            }
            do {
                let ring = try self.keys.reload(nowMs: GatewayClock().wallMs)
                self.logger.notice(
                    "sealed-session keys reloaded",
                    metadata: ["gateway.key": "\(ring.current.hex)", "gateway.keys": "\(ring.keys.map(\.hex))"]
                )
            } catch {
                self.logger.error("sealed-session keys not reloaded: the keys in force stay", metadata: ["error": "\(error)"])
            }
            _ = self.notifier.notify(.ready, .status("ready"))
        }
    }

    /// Logs what is in use, with a warning when it expires within 14 days (or has expired).
    static func log(_ loaded: ServerTLS.Loaded, files: ServerTLS.Files, reloaded: Bool, logger: Logger) {
        let metadata: Logger.Metadata = [
            "tls.certificate": "\(files.certificate)",
            "tls.names": "\(loaded.names.joined(separator: ","))",
            "tls.not_after": "\(Date(timeIntervalSince1970: Double(loaded.notAfter)))",
            "tls.chain": "\(loaded.chainLength)",
        ]
        logger.notice(reloaded ? "TLS certificate reloaded" : "TLS certificate loaded", metadata: metadata)
        let left = loaded.notAfter - Int(time(nil))
        if left <= 0 {
            logger.error(
                "the TLS certificate has expired: clients refuse it; renew it and reload (systemctl reload polygated)",
                metadata: metadata
            )
        } else if left < 14 * 86400 {
            logger.warning(
                "the TLS certificate expires in \(left / 86400) days: renew it and reload (systemctl reload polygated)",
                metadata: metadata
            )
        }
    }
}
