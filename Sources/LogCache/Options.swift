import Logging

/// When written records reach the disk.
public enum Durability: Sendable, Equatable {
    /// The operating system decides. A process crash loses nothing that `set` returned for;
    /// a power loss can lose the writes of the last few seconds.
    case none
    /// `fsync` before `set` returns: nothing acknowledged is lost, even to a power loss.
    case syncEveryWrite
    /// A background `fsync` at this interval (group commit): a power loss loses at most about
    /// one interval of writes.
    case syncInterval(Duration)
}

/// How a store is opened, and the settings a new store is created with.
///
/// The store settings (compression, threshold, segment size, default TTL, capacity, policy)
/// are written into a new store and kept: opening an existing store uses the kept ones and
/// ignores these. The rest (durability, clock, compaction, the zstd level of large values, the
/// file-system check) belong to this process's handle only.
public struct Options: Sendable {
    /// How new values are compressed. At zstd's default level 3, values under 16 KiB whose
    /// unmatched bytes do not compress (the handle measures this as it writes) are compressed
    /// at level 2, within 0.5% of level 3's size in half the time; see
    /// docs/performance.md, "Writes: where the remaining write goals stand".
    public var compression: Compression
    /// Values shorter than this many bytes are never compressed.
    public var compressionThreshold: Int
    /// Bytes at which the active segment is sealed and a new one begun.
    public var segmentSize: Int
    /// TTL of values set without one; nil means they never expire. At most
    /// ``Limits/latestExpiry`` milliseconds; a write whose expiry it would put past that moment
    /// is refused with ``CacheError/invalidOption(_:)``.
    public var defaultTTL: Duration?
    /// Live bytes the store may hold; nil for unbounded.
    public var capacity: Int?
    /// Live entries the store may hold; nil for unbounded.
    public var maxEntries: Int?
    /// Which entries go first when the capacity is reached.
    public var policy: PolicyKind
    /// When writes reach the disk.
    public var durability: Durability
    /// The time source for expiry.
    public var clock: any CacheClock
    /// When dead space is reclaimed in the background.
    public var compaction: CompactionOptions
    /// The zstd level for values of at least 1 MiB in a
    /// store that compresses with zstd; nil for the store's own level. zstd's level 3 compresses
    /// about 130 MB/s per core, slower than a disk takes them; level 1 about 360 MB/s, for
    /// records about 2.5% larger on half-compressible data (docs/performance.md). Records name
    /// their codec, not their level: any level reads back the same.
    public var zstdLevelForLargeValues: Int?
    /// Open a store on a network file system (NFS, SMB, FUSE and the like) instead of
    /// refusing with ``CacheError/networkFileSystem(path:fileSystem:)``. Safe only when
    /// every process that opens the store runs on one machine (docs/multiprocess.md).
    public var allowNetworkFileSystem: Bool
    /// Bytes of decoded values this handle keeps in memory for hot keys, their keys and
    /// about 96 bytes of bookkeeping each counted; 0 turns the cache off. A value enters only
    /// after its record was verified, larger ones than 1/64 of this size never do, and a
    /// write to the key from any process makes its cached value unreachable (the index then
    /// points at the new record). Counted in ``Statistics/hotValueHits`` and
    /// ``Statistics/hotValueBytes``. A setting of the handle, not kept in the store.
    public var hotValueCacheBytes: Int
    /// Record this handle's gets, sets and deletes into `traces/` in the store directory, for
    /// `cachectl bench --trace-dir` to replay (``TraceRecording``); nil (the default) records
    /// nothing unless the environment variable `LOGCACHE_TRACE` asks for it. A setting of the
    /// handle, not kept in the store.
    public var traceRecording: TraceRecording?
    /// Where the store says what an operator must know (recovery at open, failed background
    /// compaction, slow locks and catch-ups, eviction pressure at debug level), never per
    /// operation; by default nowhere. A setting of the handle, like durability, not kept in
    /// the store.
    public var logger: Logger
    /// A wait for the append lock, or a catch-up with other processes' writes, longer than
    /// this is logged (at most once per ten seconds each). Default 100 ms.
    public var slowOperationThreshold: Duration
    /// How often the handle pushes its counters and the store's sizes to a bootstrapped
    /// swift-metrics backend (nothing is pushed, and no timer runs, without one). Default 10 s.
    public var metricsInterval: Duration

    /// Options with the given settings; every one has a default, so name only those that
    /// differ.
    public init(
        compression: Compression = .zstd(level: 3),
        compressionThreshold: Int = 64,
        segmentSize: Int = 64 << 20,
        defaultTTL: Duration? = nil,
        capacity: Int? = nil,
        maxEntries: Int? = nil,
        policy: PolicyKind = .lru,
        durability: Durability = .none,
        clock: any CacheClock = SystemClock(),
        compaction: CompactionOptions = CompactionOptions(),
        zstdLevelForLargeValues: Int? = 1,
        allowNetworkFileSystem: Bool = false,
        hotValueCacheBytes: Int = 8 << 20,
        traceRecording: TraceRecording? = nil,
        logger: Logger = Logger(label: "logcache", factory: { _ in SwiftLogNoOpLogHandler() }),
        slowOperationThreshold: Duration = .milliseconds(100),
        metricsInterval: Duration = .seconds(10)
    ) {
        self.compression = compression
        self.compressionThreshold = compressionThreshold
        self.segmentSize = segmentSize
        self.defaultTTL = defaultTTL
        self.capacity = capacity
        self.maxEntries = maxEntries
        self.policy = policy
        self.durability = durability
        self.clock = clock
        self.compaction = compaction
        self.zstdLevelForLargeValues = zstdLevelForLargeValues
        self.allowNetworkFileSystem = allowNetworkFileSystem
        self.hotValueCacheBytes = hotValueCacheBytes
        self.traceRecording = traceRecording
        self.logger = logger
        self.slowOperationThreshold = slowOperationThreshold
        self.metricsInterval = metricsInterval
    }

    /// The settings a new store is created with, after checking their ranges.
    func storeSettings() throws(CacheError) -> StoreSettings {
        if case .zstd(let level) = compression, !(-7...22).contains(level) {
            throw .invalidOption("zstd level \(level) is outside -7...22")
        }
        if let level = zstdLevelForLargeValues, !(-7...22).contains(level) {
            throw .invalidOption("zstd level for large values \(level) is outside -7...22")
        }
        guard (Limits.minSegmentSize...StoreSettings.maxSegmentSize).contains(segmentSize) else {
            throw .invalidOption("segment size \(segmentSize) is outside \(Limits.minSegmentSize)...\(StoreSettings.maxSegmentSize)")
        }
        guard compressionThreshold >= 0 else { throw .invalidOption("negative compression threshold") }
        if let ttl = defaultTTL, ttl <= .zero { throw .invalidOption("default TTL must be positive") }
        if let ms = defaultTTL?.milliseconds, ms > Limits.latestExpiry {
            throw .invalidOption("default TTL of \(ms) ms is longer than any expiry can be: the latest a store keeps is \(Limits.latestExpiry) ms since 1970 (9999-12-31T23:59:59.999Z)")
        }
        if let c = capacity, c <= 0 { throw .invalidOption("capacity must be positive") }
        if let m = maxEntries, m <= 0 { throw .invalidOption("maximum entry count must be positive") }
        if case .syncInterval(let d) = durability, d <= .zero { throw .invalidOption("sync interval must be positive") }
        guard hotValueCacheBytes >= 0 else { throw .invalidOption("hot value cache size \(hotValueCacheBytes) is negative") }
        return StoreSettings(
            compression: compression, compressionThreshold: compressionThreshold, segmentSize: segmentSize,
            defaultTTLMilliseconds: defaultTTL?.milliseconds, capacityBytes: capacity, capacityEntries: maxEntries,
            policy: policy)
    }
}
