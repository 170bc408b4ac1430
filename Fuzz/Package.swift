// swift-tools-version: 6.1
// libFuzzer targets for the decoders that read bytes from files a hostile or damaged store
// (or trace) can hold. They live in their own package because they are built with
// `-sanitize=fuzzer`, whose runtime supplies `main`; tools/fuzz builds and runs them.
import PackageDescription

let package = Package(
    name: "LogCacheFuzz",
    dependencies: [
        .package(name: "LogCache", path: ".."),
    ],
    targets: [
        // libFuzzer's driver, called from each target's own `main`.
        .target(name: "FuzzSupport"),
        // Records: one record as the read path decodes it (checksum, header limits, key,
        // decompression) and a whole segment body as recovery scans it.
        .executableTarget(name: "fuzz-record", dependencies: ["FuzzSupport", .product(name: "LogCache", package: "LogCache")],
                          path: "Sources/FuzzRecord"),
        // Index files: validation, entry decoding, and that a decoded file encodes back to the same bytes.
        .executableTarget(name: "fuzz-index", dependencies: ["FuzzSupport", .product(name: "LogCache", package: "LogCache")],
                          path: "Sources/FuzzIndex"),
        // The manifest and the POLICY snapshot.
        .executableTarget(name: "fuzz-manifest", dependencies: ["FuzzSupport", .product(name: "LogCache", package: "LogCache")],
                          path: "Sources/FuzzManifest"),
        // A whole store built from the input: opened, written, reopened and repaired.
        .executableTarget(name: "fuzz-store", dependencies: ["FuzzSupport", .product(name: "LogCache", package: "LogCache")],
                          path: "Sources/FuzzStore"),
        // The trace readers of `cachectl bench`: oracleGeneral, csv, txt, vscsi, lis, and zstd streams.
        .executableTarget(name: "fuzz-trace", dependencies: ["FuzzSupport", .product(name: "LogCacheSimulation", package: "LogCache")],
                          path: "Sources/FuzzTrace"),
    ],
    swiftLanguageModes: [.v6]
)
