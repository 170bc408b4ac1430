// swift-tools-version: 6.0
// The caching proxy for OpenAI-compatible APIs, a package of its own so that users of the
// library never resolve a web stack (docs/proxy.md).
import PackageDescription

let package = Package(
    name: "LogCacheProxy",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "logcache-proxy", targets: ["logcache-proxy"]),
    ],
    dependencies: [
        .package(name: "LogCache", path: ".."),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        // The proxy's parts: keys, the stored form of a response, request controls, the
        // upstream call and the request handler.
        .target(
            name: "LogCacheProxy",
            dependencies: [
                .product(name: "LogCache", package: "LogCache"),
                .product(name: "LogCacheRedis", package: "LogCache"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .executableTarget(
            name: "logcache-proxy",
            dependencies: [
                "LogCacheProxy",
                .product(name: "LogCacheRedis", package: "LogCache"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
