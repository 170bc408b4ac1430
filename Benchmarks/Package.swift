// swift-tools-version: 6.1
// Benchmarks live in their own package so that users of the library never resolve
// benchmark-only dependencies, nor link the peer stores the comparison runs against.
import PackageDescription

let package = Package(
    name: "LogCacheBenchmarks",
    dependencies: [
        .package(name: "LogCache", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
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
        // The shared tier on Redis: a local hit, a shared hit, two machines warming one cache
        // (tools/bench-shared starts the Redis it runs against).
        .executableTarget(
            name: "SharedTierBenchmark",
            dependencies: [
                .product(name: "LogCache", package: "LogCache"),
                .product(name: "LogCacheRedis", package: "LogCache"),
            ],
            path: "Sources/SharedTierBenchmark"
        ),

        // Keys, values and the Zipf generator that both kinds of benchmark draw from.
        .target(name: "BenchmarkData", path: "Sources/BenchmarkData"),

        // The stores LogCache is compared with, from the system's -dev packages
        // (tools/bench-peers installs them). LevelDB ships no pkg-config file.
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CLMDB", pkgConfig: "lmdb", providers: [.apt(["liblmdb-dev"])]),
        .systemLibrary(name: "CRocksDB", pkgConfig: "rocksdb", providers: [.apt(["librocksdb-dev"])]),
        .systemLibrary(name: "CLevelDB", providers: [.apt(["libleveldb-dev"])]),
        // zstd for the peers that compress in the application (SQLite, LMDB) and for the
        // decompression floor; the engine's own zstd module is internal to its package.
        .systemLibrary(name: "CPeerZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),

        // The same workloads on LogCache and on each peer, printed as one table.
        .executableTarget(
            name: "PeerBenchmark",
            dependencies: [
                .product(name: "LogCache", package: "LogCache"),
                "BenchmarkData", "CSQLite", "CLMDB", "CRocksDB", "CLevelDB", "CPeerZstd",
            ],
            path: "Sources/PeerBenchmark"
        ),

        // Micro-benchmarks of single engine operations: `swift package benchmark`.
        .executableTarget(
            name: "EngineOperations",
            dependencies: [
                .product(name: "LogCache", package: "LogCache"),
                .product(name: "Benchmark", package: "benchmark"),
                "BenchmarkData",
            ],
            path: "Benchmarks/EngineOperations",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
