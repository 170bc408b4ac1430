// swift-tools-version: 6.1
// Benchmarks live in their own package so that users of the library never resolve
// benchmark-only dependencies.
import PackageDescription

let package = Package(
    name: "LogCacheBenchmarks",
    dependencies: [
        .package(name: "LogCache", path: ".."),
    ],
    targets: [
        // Set and get throughput, reopen time and memory per entry of the engine itself.
        .executableTarget(
            name: "CoreBenchmark",
            dependencies: [.product(name: "LogCache", package: "LogCache")],
            path: "Sources/CoreBenchmark"
        ),
        // Compaction throughput, write amplification and get latency during a pass.
        .executableTarget(
            name: "CompactionBenchmark",
            dependencies: [.product(name: "LogCache", package: "LogCache")],
            path: "Sources/CompactionBenchmark"
        ),
    ],
    swiftLanguageModes: [.v6]
)
