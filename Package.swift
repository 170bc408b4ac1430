// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "LogCache",
    products: [
        .library(name: "LogCache", targets: ["LogCache"]),
        .executable(name: "cachectl", targets: ["cachectl"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
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
        .target(
            name: "LogCache",
            dependencies: ["CZstd", "CLZ4"]
        ),
        .executableTarget(
            name: "cachectl",
            dependencies: [
                "LogCache",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // A child process for the tests: writes, crashes and competes with other processes
        // on real stores, which threads inside the test process cannot stand in for.
        .executableTarget(
            name: "logcache-worker",
            dependencies: ["LogCache"],
            path: "Tests/Worker"
        ),
        .testTarget(
            name: "LogCacheTests",
            dependencies: ["LogCache", "cachectl"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
