// swift-tools-version:6.0
// Arbor: a distributed rollout system for RL of tool-using language models.
// The target graph mirrors docs/architecture.md's module map; dependencies point one way, down the layers:
//   CZMQ / COpenBLAS (module maps) → ArborProtocol, Kernels → Worker, Coordinator → arbor (CLI)
import PackageDescription

// MARK: - Shared settings

/// Every Swift target builds in Swift 6 language mode with strict concurrency (the tools-version
/// default); this flag keeps release builds of the numeric kernels from checking overflow on
/// every index in hot loops where the shapes were validated up front. Only `Kernels` gets it:
/// `Worker` parses untrusted input (model text, JSON, GGUF), whose checks must stay.
let optimizedNumerics: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]

/// OpenBLAS and libzmq headers live in multiarch folders on Debian; pkg-config finds them.
let package = Package(
    name: "Arbor",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "arbor", targets: ["arbor"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.28.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/modelcontextprotocol/swift-sdk", from: "0.12.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.4.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
    ],
    targets: [
        // MARK: - System-library shims (module maps only)
        .systemLibrary(
            name: "CZMQ", path: "Sources/CZMQ", pkgConfig: "libzmq",
            providers: [.apt(["libzmq3-dev"])]),
        .systemLibrary(
            name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),

        // MARK: - Libraries
        .target(
            name: "ArborProtocol",
            dependencies: [
                "CZMQ", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Yams", package: "Yams"),
            ],
            path: "Sources/Protocol",
            exclude: ["arbor.proto"]),
        /// The quantised dot-product kernels in plain C: Swift cannot express per-function SIMD
        /// targets, so each path is compiled for its own target here and chosen at run time.
        .target(name: "CKernels", path: "Sources/CKernels", cSettings: [.unsafeFlags(["-O3"], .when(configuration: .release))]),
        .target(
            name: "Kernels", dependencies: ["COpenBLAS", "CKernels"],
            swiftSettings: optimizedNumerics),
        .target(
            name: "Worker",
            dependencies: [
                "ArborProtocol", "Kernels",
                .product(name: "Logging", package: "swift-log"),
                /// MCP servers as tools (stdio transport); SystemPackage for its file descriptors.
                .product(name: "MCP", package: "swift-sdk"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]),
        .target(
            name: "Coordinator",
            dependencies: [
                "ArborProtocol",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]),

        // MARK: - The executable
        .executableTarget(
            name: "arbor",
            dependencies: [
                "Worker", "Coordinator", "ArborProtocol", "Kernels",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ]),

        // MARK: - Tests
        /// Test doubles (manual clock, in-process fakes) live apart from the libraries.
        .target(name: "TestSupport", dependencies: ["ArborProtocol"], path: "Sources/TestSupport"),
        .testTarget(name: "ProtocolTests", dependencies: ["ArborProtocol", "TestSupport"]),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels"]),
        .testTarget(name: "WorkerTests", dependencies: ["Worker", "TestSupport"]),
        .testTarget(name: "CoordinatorTests", dependencies: ["Coordinator", "TestSupport"]),
        /// Real processes over loopback ZeroMQ: these tests run the built `arbor` binary, and
        /// `Support/` holds programs they run (the impaired network link).
        .testTarget(
            name: "IntegrationTests", dependencies: ["ArborProtocol", "TestSupport"],
            exclude: ["Support"]),
        .testTarget(
            name: "ArborCLITests",
            dependencies: ["arbor", "TestSupport"]),
    ]
)
