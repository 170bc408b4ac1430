import ArgumentParser
import LogCache

#if canImport(Glibc)
import Glibc
#endif

/// `cachectl init DIR [settings]`
struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create a store with the given settings.",
        discussion: """
            The settings are kept in the store's MANIFEST: every later open uses them, so they \
            are chosen once, here. DIR must be missing or empty; init refuses an existing store \
            (exit 3) rather than change its settings. Sizes take plain bytes or KiB, MiB, GiB \
            (powers of 1024) or KB, MB, GB (powers of 1000).

            Examples:
              cachectl init /var/cache/app --capacity 2GiB --policy lru
              cachectl init /var/cache/llm --compression zstd --zstd-level 9 --default-ttl 604800
              cachectl init /tmp/scratch --compression none --segment-size 16MiB
            """
    )

    /// The compression names the command line takes.
    enum CompressionName: String, ExpressibleByArgument, CaseIterable {
        case zstd, lz4, none
    }

    @Argument(help: "The store directory to create.")
    var directory: String

    @Option(help: "Live bytes the store may hold (default: unbounded).", transform: parseByteSize)
    var capacity: Int?

    @Option(name: .customLong("max-entries"), help: "Live entries the store may hold (default: unbounded).")
    var maxEntries: Int?

    @Option(help: ArgumentHelp("Which entries go first when the store is full: \(PolicyKind.names)."))
    var policy: String = "lru"

    @Option(help: "How new values are compressed: zstd, lz4 or none.")
    var compression: CompressionName = .zstd

    @Option(name: .customLong("zstd-level"), help: "zstd level, -7 to 22 (default 3).")
    var zstdLevel: Int?

    @Option(name: .customLong("compression-threshold"),
            help: "Values shorter than this are stored uncompressed (default 64 bytes).", transform: parseByteSize)
    var compressionThreshold: Int?

    @Option(name: .customLong("segment-size"), help: "Size at which a segment file is sealed (default 64MiB).",
            transform: parseByteSize)
    var segmentSize: Int?

    @Option(name: .customLong("default-ttl"), help: "Seconds a value lives when set without a TTL, at most until 9999-12-31 (default: for ever).",
            transform: parseTTL)
    var defaultTTL: Duration?

    func validate() throws {
        if PolicyKind(name: policy) == nil { throw ValidationError("--policy must be one of \(PolicyKind.names).") }
        if zstdLevel != nil && compression != .zstd { throw ValidationError("--zstd-level needs --compression zstd.") }
        if let maxEntries, maxEntries <= 0 { throw ValidationError("--max-entries must be positive.") }
        if let capacity, capacity <= 0 { throw ValidationError("--capacity must be positive.") }
        if let zstdLevel, !(-7...22).contains(zstdLevel) { throw ValidationError("--zstd-level must be -7 to 22.") }
        if let segmentSize, !(4096...StoreSettings.maxSegmentSize).contains(segmentSize) {
            throw ValidationError("--segment-size must be 4KiB to 1GiB.")
        }
    }

    func run() throws {
        if access(directory + "/" + Manifest.fileName, F_OK) == 0 {
            throw CommandFailure(message: "\(directory) is already a LogCache store; init does not change an existing store's settings")
        }
        var options = Options()
        switch compression {
        case .zstd: options.compression = .zstd(level: zstdLevel ?? 3)
        case .lz4: options.compression = .lz4
        case .none: options.compression = .none
        }
        options.capacity = capacity
        options.maxEntries = maxEntries
        options.policy = PolicyKind(name: policy) ?? .lru
        if let compressionThreshold { options.compressionThreshold = compressionThreshold }
        if let segmentSize { options.segmentSize = segmentSize }
        options.defaultTTL = defaultTTL
        let store = try CacheStore(directory: directory, options: options)
        try store.close()
    }
}
