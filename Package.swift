// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "LogCache",
    products: [
        .library(name: "LogCache", targets: ["LogCache"]),
        .library(name: "LogCacheSimulation", targets: ["LogCacheSimulation"]),
        .executable(name: "cachectl", targets: ["cachectl"]),
        // liblogcache.so: the C interface of include/logcache.h, for bindings in other languages.
        .library(name: "logcache", type: .dynamic, targets: ["LogCacheC"]),
        // The shared tier on Redis (docs/shared-tier.md): a product of its own, so that users
        // who do not want it never link hiredis.
        .library(name: "LogCacheRedis", targets: ["LogCacheRedis"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        // `swift package generate-documentation` (tools/docs): the DocC reference.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CZstd",
            pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"])]
        ),
        .systemLibrary(
            name: "CLZ4",
            pkgConfig: "liblz4",
            providers: [.apt(["liblz4-dev"])]
        ),
        .systemLibrary(
            name: "CHiredis",
            // No pkgConfig: hiredis.pc's -D_FILE_OFFSET_BITS=64 is a flag the package
            // manager refuses, and the header is in the default include path.
            providers: [.apt(["libhiredis-dev"])]
        ),
        // The few C library calls Swift's Glibc module does not expose.
        .target(name: "CLogCacheSupport"),
        .target(
            name: "LogCache",
            dependencies: [
                "CZstd", "CLZ4", "CLogCacheSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        // The C interface (include/logcache.h, docs/c-api.md): every call returns a status, and
        // no Swift error crosses it.
        .target(
            name: "LogCacheC",
            dependencies: ["LogCache"]
        ),
        // A second tier behind the store, shared by many machines through Redis.
        .target(
            name: "LogCacheRedis",
            dependencies: [
                "LogCache", "CHiredis", "CZstd",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The trace simulator of `cachectl bench`: trace readers, the replay, and Belady's
        // offline policy, run against the engine's online policies.
        .target(
            name: "LogCacheSimulation",
            dependencies: ["LogCache", "CZstd", "CLogCacheSupport"]
        ),
        .executableTarget(
            name: "cachectl",
            dependencies: [
                "LogCache",
                "LogCacheSimulation",
                "LogCacheRedis",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The main job, memoizing slow calls; tools/demo runs it.
        .executableTarget(
            name: "logcache-demo",
            dependencies: ["LogCache"]
        ),
        // The README's quick start, word for word (tools/test builds it, runs it and checks
        // that the README still shows this file), so that the first code a user copies works.
        .executableTarget(
            name: "logcache-quickstart",
            dependencies: ["LogCache"],
            path: "Examples/QuickStart"
        ),
        // A child process for the tests: writes, crashes and competes with other processes
        // on real stores, which threads inside the test process cannot stand in for.
        .executableTarget(
            name: "logcache-worker",
            dependencies: ["LogCache", "LogCacheRedis", "CLogCacheSupport"],
            path: "Tests/Worker"
        ),
        .testTarget(
            name: "LogCacheTests",
            dependencies: [
                "LogCache", "LogCacheSimulation", "LogCacheC", "LogCacheRedis", "cachectl",
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
