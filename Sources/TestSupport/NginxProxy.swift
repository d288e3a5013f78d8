#if canImport(Glibc)
import Glibc
#endif

/// Debian's nginx in front of a test polygated, with the shipped example site
/// (`examples/nginx-polygate.conf`) made local: its ports, certificate and cache directory
/// replaced, everything else as shipped. nginx connects to polygated from `upstreamSource`
/// (`proxy_bind`), so that a test can tell nginx from the clients it speaks for.
package struct NginxProxy: Sendable {
    package let directory: String
    package let process: TestProcess
    /// The example's `listen 443 ssl` server.
    package let tlsPort: Int
    /// The example's `listen 80` server (a redirect to https).
    package let redirectPort: Int
    /// A second server that is not in the example: TLS, but no WebSocket upgrade (HTTP/1.0 to
    /// polygated, no Upgrade header), as a proxy without WebSocket support would be.
    package let noUpgradePort: Int

    package static let binary = "/usr/sbin/nginx"

    /// Starts nginx for the example site at `example` in front of `127.0.0.1:upstream`.
    ///
    /// - Throws: when a line the test replaces is no longer in the example (the example and
    ///   this harness must change together), or nginx does not start.
    package static func start(
        example: String,
        upstream: Int,
        serverName: String = "localhost",
        certificate: TestCertificates.Pair,
        upstreamSource: String = "127.0.0.3"
    ) async throws -> NginxProxy {
        let directory = TestEnvironment.makeDirectory("nginx")
        let (tlsPort, redirectPort, noUpgradePort) = (
            TestEnvironment.freePort(), TestEnvironment.freePort(), TestEnvironment.freePort()
        )
        var site = readFile(example)
        let replacements: [(String, String)] = [
            ("server 127.0.0.1:8080;", "server 127.0.0.1:\(upstream);"),
            ("listen 443 ssl;", "listen 127.0.0.1:\(tlsPort) ssl;"),
            ("listen [::]:443 ssl;", ""),
            ("listen 80;", "listen 127.0.0.1:\(redirectPort);"),
            ("listen [::]:80;", ""),
            ("/etc/letsencrypt/live/chat.example.org/fullchain.pem", certificate.certificate),
            ("/etc/letsencrypt/live/chat.example.org/privkey.pem", certificate.privateKey),
            ("server_name chat.example.org;", "server_name \(serverName);"),
            ("/var/cache/nginx/polygate", "\(directory)/cache"),
        ]
        for (from, to) in replacements {
            guard site.contains(from) else { throw TestFailure("\(example) no longer contains '\(from)'") }
            site = site.replacingAll(from, with: to)
        }
        try writeFile("\(directory)/polygate.conf", site)
        mkdir("\(directory)/tmp", 0o755)
        try writeFile(
            "\(directory)/nginx.conf",
            """
            daemon off;
            \(geteuid() == 0 ? "user root;" : "")
            worker_processes 1;
            pid \(directory)/nginx.pid;
            error_log \(directory)/error.log info;
            events { worker_connections 512; }
            http {
                log_format upgrades "$remote_addr $request upgrade=$http_upgrade $status";
                access_log \(directory)/access.log upgrades;
                client_body_temp_path \(directory)/tmp/body;
                proxy_temp_path \(directory)/tmp/proxy;
                fastcgi_temp_path \(directory)/tmp/fastcgi;
                uwsgi_temp_path \(directory)/tmp/uwsgi;
                scgi_temp_path \(directory)/tmp/scgi;
                proxy_bind \(upstreamSource);
                include \(directory)/polygate.conf;
                server {
                    listen 127.0.0.1:\(noUpgradePort) ssl;
                    server_name \(serverName);
                    ssl_certificate \(certificate.certificate);
                    ssl_certificate_key \(certificate.privateKey);
                    location / {
                        proxy_pass http://127.0.0.1:\(upstream);
                        proxy_buffering off;
                        proxy_read_timeout 10m;
                    }
                }
            }

            """
        )
        let process = try TestProcess(
            executable: Self.binary,
            arguments: ["-p", directory, "-c", "\(directory)/nginx.conf", "-e", "\(directory)/error.log"],
            environment: TestEnvironment.baseEnvironment,
            outputDirectory: directory
        )
        let deadline = ContinuousClock.now + .seconds(20)
        while ![tlsPort, redirectPort, noUpgradePort].allSatisfy(HTTPTestClient.isListening(port:)) {
            guard ContinuousClock.now < deadline, process.exitedStatus == nil else {
                process.kill9()
                throw TestFailure("nginx did not start: \(process.stderr)\n\(readFile("\(directory)/error.log"))")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        return NginxProxy(
            directory: directory,
            process: process,
            tlsPort: tlsPort,
            redirectPort: redirectPort,
            noUpgradePort: noUpgradePort
        )
    }

    /// What nginx logged (for failures).
    package var errorLog: String { readFile("\(self.directory)/error.log") }

    /// Stops nginx (its workers with it: SIGTERM to the master, which waits for them).
    package func stop() async {
        self.process.signal(SIGTERM)
        _ = try? await self.process.waitForExit(timeout: .seconds(10))
        self.process.kill9()
    }
}

extension String {
    fileprivate func replacingAll(_ target: String, with replacement: String) -> String {
        var result = ""
        var rest = Substring(self)
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}
