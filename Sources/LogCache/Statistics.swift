/// A snapshot of a store's size and of this handle's activity since it was opened.
public struct Statistics: Sendable, Equatable, Codable {
    /// Live keys.
    public var entries: Int
    /// Bytes of the live records as stored (header, key, compressed value).
    public var liveBytes: Int
    /// Bytes of all segment and index files.
    public var diskBytes: Int
    /// Segment files, the active one included.
    public var segments: Int
    /// Reads that found a value.
    public var hits: Int
    /// Reads that found nothing (absent, expired or damaged).
    public var misses: Int
    /// Values written.
    public var writes: Int
    /// Keys removed by `removeValue`.
    public var deletes: Int
    /// Entries found expired and dropped.
    public var expirations: Int
    /// Records cut from the end of the active segment at open because they were incompletely written.
    public var tornRecordsDropped: Int
    /// Bytes of memory held by the in-memory index.
    public var indexMemoryBytes: Int
    /// Entries evicted to keep the store within its capacity.
    public var evictions: Int
    /// Bytes of the records evicted.
    public var evictedBytes: Int
    /// Bytes of eviction-policy state per live entry (0 for an unbounded store).
    public var policyBytesPerEntry: Double
    /// Records that failed their checksum or decompression when read, and were treated as misses.
    public var corruptRecords: Int
    /// Compaction passes that rewrote segments.
    public var compactions: Int
    /// Bytes compaction wrote (copied records, kept tombstones, index files).
    public var compactionBytesWritten: Int
    /// Bytes of old segment and index files compaction removed.
    public var compactionBytesFreed: Int
    /// Background compaction passes that failed (the store stays as it was before each).
    public var compactionFailures: Int
    /// Of the ``hits``, those answered from the handle's hot values without reading a record
    /// (``Options/hotValueCacheBytes``).
    public var hotValueHits: Int
    /// Bytes the hot values take now, their keys and bookkeeping included; never more than
    /// ``Options/hotValueCacheBytes``.
    public var hotValueBytes: Int
}
