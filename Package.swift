// swift-tools-version:6.2
//
// polygate: self-hosted social + end-to-end-encrypted chat appliance.
// Targets are small, one job each, layered (see docs/ARCHITECTURE.md). Compiler settings
// are applied to every Swift target in one loop at the end of this file.

import PackageDescription

let package = Package(
    name: "polygate",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "polygated", targets: ["polygated"]),
        .executable(name: "polychat", targets: ["polychat"]),
        .executable(name: "gwctl", targets: ["gwctl"]),
        .executable(name: "mls-conformance", targets: ["mls-conformance"]),
        .library(name: "Store", targets: ["Store"]),
        .library(name: "Systemd", targets: ["Systemd"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        // `traits: []` drops ConfigurationSupport and FullFoundation (no ICU in the static binary).
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        // TLS for the clients and the optional native listener (already in the graph through
        // async-http-client).
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.0"),
        // BoringSSL's X25519 base-point multiplication (2.2x libsodium's here; ADR 0027).
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
    ],
    targets: [
        // MARK: Debian system libraries (module map + shim header each)
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CSodium", pkgConfig: "libsodium", providers: [.apt(["libsodium-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        // No pkgConfig: readline.pc carries -D flags that SwiftPM refuses (feasibility notes §2).
        .systemLibrary(name: "CReadline", providers: [.apt(["libreadline-dev"])]),

        // MARK: Libraries
        // The version of this build, for every binary (kept in step with debian/changelog).
        .target(name: "BuildInfo"),
        .target(
            name: "Primitives",
            dependencies: ["CSodium", "COpenSSL", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // The Noise Protocol Framework (sealed gateway sessions, ADR 0025).
        .target(name: "Noise", dependencies: ["Primitives", "COpenSSL"]),
        .target(name: "MLS", dependencies: ["Primitives"]),
        .target(name: "MLSConformance", dependencies: ["MLS", "Primitives"]),
        // Polycentric v1: generated protobuf types (make proto) and the protocol's rules.
        .target(
            name: "Polycentric",
            dependencies: ["Noise", "Primitives", .product(name: "SwiftProtobuf", package: "swift-protobuf")]
        ),
        .target(
            name: "Store",
            dependencies: [
                "CLibPQ",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.embedInCode("Migrations"), .embedInCode("Functions")]
        ),
        .target(
            name: "Systemd",
            dependencies: [
                "CSystemd",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The client<->gateway wire protocol (proto/polygate/gateway.proto), shared by both sides.
        .target(
            name: "GatewayWire",
            dependencies: ["Noise", "Primitives", .product(name: "SwiftProtobuf", package: "swift-protobuf")]
        ),
        // The control protocol both sides speak: messages, the command registry, parsing,
        // completion, tables (docs/CONTROL_PROTOCOL.md).
        .target(name: "Control"),
        // The daemon's side of the control protocol: sockets, connections, the commands.
        .target(
            name: "ControlService",
            dependencies: [
                "Control", "Gateway", "Presence", "Primitives", "Store",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // gwctl's console: the blocking control client, readline, output and exit statuses.
        .target(name: "AdminConsole", dependencies: ["BuildInfo", "Control", "CReadline"]),
        // Presence, all of it: leases, other daemons' announcements, coalescing and last-seen
        // buckets as values; the service that runs them and pushes `Presence` frames to
        // watchers; consent, modes and last-seen in PostgreSQL.
        .target(
            name: "Presence",
            dependencies: [
                "GatewayWire", "Primitives", "Store",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        // The realtime gateway, the MLS Delivery Service: sessions whatever the transport, the
        // delivery rule, group commit of appends, the fan-out, and their state in PostgreSQL.
        .target(
            name: "Gateway",
            dependencies: [
                "GatewayWire", "MLS", "Noise", "Presence", "Primitives", "Store",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        // TLS for clients: the trust store and a private CA, and failures explained.
        .target(
            name: "ClientTLS",
            dependencies: [
                "COpenSSL",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // The client side of the gateway protocol over WebSocket and SSE (tests, benchmarks, polychat).
        .target(
            name: "GatewayClient",
            dependencies: [
                "ClientTLS",
                "GatewayWire",
                "Noise",
                "Primitives",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        // polychat's engine: identity and state encrypted at rest, MLS groups, the gateway session.
        .target(
            name: "ChatClient",
            dependencies: [
                "ClientTLS",
                "GatewayClient", "GatewayWire", "MLS", "Polycentric", "PolycentricClient", "Primitives",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        // polychat's terminal: the screen as a value, keys, raw mode, the UI and the line mode.
        .target(name: "ChatTerminal", dependencies: ["ChatClient", "GatewayWire"]),
        // polychat's running instance: the socket, its JSON-RPC messages and the loop that serves it.
        .target(name: "ChatInstance", dependencies: ["ChatClient"]),
        .target(
            name: "PolycentricClient",
            dependencies: [
                "ClientTLS",
                "Polycentric",
                "Primitives",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        .target(
            name: "Social",
            dependencies: [
                "Polycentric",
                "Primitives",
                "Store",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        .target(
            name: "HTTPFront",
            dependencies: [
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                "BuildInfo",
                "Gateway",
                "GatewayWire",
                "Noise",
                "Primitives",
                "Social",
                "Store",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "Daemon",
            dependencies: [
                "BuildInfo",
                "Control",
                "ControlService",
                "Gateway",
                "Presence",
                "HTTPFront",
                "Social",
                "Store",
                "Systemd",
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),

        // MARK: Executables (thin: @main + argument parsing)
        .executableTarget(
            name: "polygated",
            dependencies: [
                "Daemon",
                "HTTPFront",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        .executableTarget(
            name: "polychat",
            dependencies: [
                "BuildInfo", "ChatClient", "ChatInstance", "ChatTerminal", "GatewayWire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        .executableTarget(name: "gwctl", dependencies: ["AdminConsole"]),

        .executableTarget(
            name: "mls-conformance",
            dependencies: ["MLSConformance", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),

        // MARK: Benchmarks (executables that print numbers; results in docs/BENCHMARKS.md)
        .executableTarget(
            name: "store-benchmark",
            dependencies: ["Store", .product(name: "Logging", package: "swift-log")],
            path: "Benchmarks/StoreBenchmark"
        ),

        .executableTarget(
            name: "crypto-benchmark",
            dependencies: ["MLS", "Primitives"],
            path: "Benchmarks/CryptoBenchmark"
        ),

        .executableTarget(
            name: "social-benchmark",
            dependencies: [
                "Polycentric", "PolycentricClient", "Primitives",
            ],
            path: "Benchmarks/SocialBenchmark"
        ),
        .executableTarget(
            name: "gateway-benchmark",
            dependencies: [
                "ClientTLS", "GatewayClient", "GatewayWire", "Primitives", "Store",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            path: "Benchmarks/GatewayBenchmark"
        ),
        .executableTarget(
            name: "control-benchmark",
            dependencies: ["AdminConsole", "Control", "Store", .product(name: "Logging", package: "swift-log")],
            path: "Benchmarks/ControlBenchmark"
        ),
        .executableTarget(
            name: "fault-soak",
            dependencies: ["FaultInjection", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Benchmarks/FaultSoak"
        ),
        .executableTarget(
            name: "mls-benchmark",
            dependencies: ["MLS", "Primitives"],
            path: "Benchmarks/MLSBenchmark"
        ),

        // MARK: Test support and tests
        .target(
            name: "TestSupport",
            dependencies: [
                "Store",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Traffic, faults and the audit of what was delivered (the fault suite and `make soak`).
        .target(
            name: "FaultInjection",
            dependencies: [
                "GatewayClient", "GatewayWire", "Primitives", "TestSupport",
            ]
        ),
        .testTarget(
            name: "SystemLibraryTests",
            dependencies: ["CLibPQ", "CSodium", "COpenSSL", "CSystemd", "CReadline"]
        ),
        .testTarget(name: "PrimitivesTests", dependencies: ["Primitives", "Noise"]),
        .testTarget(name: "PresenceTests", dependencies: ["GatewayWire", "Presence"]),
        .testTarget(
            name: "ChatTests",
            dependencies: [
                "ChatClient", "ChatInstance", "ChatTerminal", "GatewayClient", "GatewayWire", "MLS", "PolycentricClient",
                "Primitives", "TestSupport",
            ]
        ),
        .testTarget(name: "ControlTests", dependencies: ["AdminConsole", "Control"]),
        .testTarget(name: "MLSTests", dependencies: ["MLS", "MLSConformance", "Primitives", "TestSupport"]),
        .testTarget(name: "StoreTests", dependencies: ["Store", "TestSupport"]),
        .testTarget(name: "SocialTests", dependencies: ["Social", "Polycentric"]),
        .testTarget(
            name: "GatewayTests",
            dependencies: [
                "Gateway", "GatewayWire", "MLS", "Noise", "Presence", "Primitives", "Store", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        .testTarget(
            name: "GatewayWireTests",
            dependencies: ["GatewayWire", "Primitives", .product(name: "SwiftProtobuf", package: "swift-protobuf")]
        ),
        .testTarget(
            name: "PolycentricTests",
            dependencies: ["Polycentric", "Primitives", .product(name: "SwiftProtobuf", package: "swift-protobuf")]
        ),
        .testTarget(
            name: "SystemdTests",
            dependencies: ["Systemd", "TestSupport", .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")]
        ),
        .testTarget(
            name: "HTTPFrontTests",
            dependencies: [
                "HTTPFront", "Primitives", "TestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "DaemonTests",
            dependencies: [
                "ClientTLS", "Control", "Daemon", "FaultInjection", "Gateway", "HTTPFront", "GatewayClient", "GatewayWire", "MLS",
                "Noise", "Polycentric",
                "PolycentricClient", "Primitives", "Store", "TestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ]
)

// MARK: - Compiler settings, in one place (STYLE.md §1)

let upcomingFeatures: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

for target in package.targets where target.type != .system && target.type != .binary {
    target.swiftSettings = (target.swiftSettings ?? []) + upcomingFeatures
}

// MARK: - Fuzzing (`make fuzz`, docs/RELIABILITY.md)
//
// With POLYGATE_FUZZ=1 (scripts/fuzz.sh, in a scratch path of its own) the package gains one
// libFuzzer executable per decoder, and polygate's own targets are compiled with libFuzzer's
// coverage and AddressSanitizer (dependencies are not instrumented). Ordinary builds never see
// these targets.
if Context.environment["POLYGATE_FUZZ"] == "1" {
    let fuzzTargets: [(name: String, path: String, dependencies: [Target.Dependency])] = [
        ("fuzz-mls", "Fuzz/MLS", ["MLS", "Primitives"]),
        (
            "fuzz-gateway", "Fuzz/Gateway",
            ["Gateway", "GatewayWire", "Primitives", .product(name: "SwiftProtobuf", package: "swift-protobuf")]
        ),
        (
            "fuzz-polycentric", "Fuzz/Polycentric",
            ["Polycentric", "Primitives", "Social", .product(name: "SwiftProtobuf", package: "swift-protobuf")]
        ),
        ("fuzz-control", "Fuzz/Control", ["Control"]),
        ("fuzz-config", "Fuzz/Config", ["Daemon"]),
    ]
    package.targets.append(.target(name: "FuzzSupport", path: "Fuzz/Support"))
    for fuzz in fuzzTargets {
        package.targets.append(
            .executableTarget(
                name: fuzz.name,
                dependencies: fuzz.dependencies + ["FuzzSupport"],
                path: fuzz.path,
                linkerSettings: [.unsafeFlags(["-sanitize=fuzzer,address", "-Xclang-linker", "-fuse-ld=lld"])]
            )
        )
    }
    for target in package.targets where target.type == .regular || target.type == .executable {
        target.swiftSettings = (target.swiftSettings ?? []) + [.unsafeFlags(["-sanitize=fuzzer,address", "-parse-as-library"])]
    }
}
