import Foundation
import LogCache

/// A failure of a peer library, with its own message.
struct PeerError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A key and the value to store under it.
struct Pair {
    var key: [UInt8]
    var value: [UInt8]
}

/// Keys of a batched read, in both forms the stores take: bytes for the peers, strings for
/// LogCache's `values(forKeys:)`. Built before the clock starts.
struct KeyBatch {
    var bytes: [[UInt8]]
    var strings: [String]

    init(_ bytes: [[UInt8]]) {
        self.bytes = bytes
        strings = bytes.map { String(decoding: $0, as: UTF8.self) }
    }
}

/// One store under test, through the operations every workload needs. Each adapter uses
/// its library the way its documentation recommends and hands the caller the value in the
/// form the library gives it (an owned buffer, or a pinned slice), without extra copies.
protocol PeerStore: AnyObject {
    /// Stores `value` under `key`, replacing any value it had: one transaction.
    func set(_ key: [UInt8], _ value: [UInt8]) throws
    /// Stores every pair in one transaction or write batch.
    func setBatch(_ pairs: [Pair]) throws
    /// Calls `body` with the value of `key` and returns true, or returns false on a miss.
    func get(_ key: [UInt8], _ body: (UnsafeRawBufferPointer) -> Void) throws -> Bool
    /// Calls `body` with the position in `keys` and the value of every key found, in any
    /// order; returns how many were found.
    func getBatch(_ keys: KeyBatch, _ body: (Int, UnsafeRawBufferPointer) -> Void) throws -> Int
    /// Makes everything written so far durable: the end of a write that counts as done.
    func flush() throws
    func close() throws
}

/// The stores the runner can drive in its own process. diskcache runs in Python
/// (Scripts/diskcache_replay.py).
enum PeerKind: String, CaseIterable {
    case logcache, logcacheLZ4 = "logcache-lz4", logcacheNoHot = "logcache-nohot", sqlite, lmdb, rocksdb, leveldb

    var title: String {
        switch self {
        case .logcache: "LogCache"
        case .logcacheLZ4: "LogCache lz4"
        case .logcacheNoHot: "LogCache, no hot values"
        case .sqlite: "SQLite"
        case .lmdb: "LMDB"
        case .rocksdb: "RocksDB"
        case .leveldb: "LevelDB"
        }
    }

    /// Whether several processes may open one store at once (RocksDB and LevelDB take a
    /// lock that keeps a store to one process).
    var sharesAcrossProcesses: Bool { self != .rocksdb && self != .leveldb }

    /// Opens (creating when missing) a store of this kind in `directory`.
    func open(_ directory: String) throws -> any PeerStore {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        switch self {
        case .logcache: return try LogCachePeer(directory: directory, compression: .zstd(level: 3))
        case .logcacheLZ4: return try LogCachePeer(directory: directory, compression: .lz4)
        case .logcacheNoHot: return try LogCachePeer(directory: directory, compression: .zstd(level: 3), hotValueCacheBytes: 0)
        case .sqlite: return try SQLitePeer(directory: directory)
        case .lmdb: return try LMDBPeer(directory: directory)
        case .rocksdb: return try RocksDBPeer(directory: directory)
        case .leveldb: return try LevelDBPeer(directory: directory)
        }
    }
}

/// LogCache with its defaults (zstd level 3 above 64 bytes, 64 MiB segments, no fsync per
/// write), the same with LZ4, its faster codec, to show what the choice of codec costs, or
/// the same without hot values (`logcache-nohot`), to show what they cost and save.
final class LogCachePeer: PeerStore {
    let store: CacheStore

    init(directory: String, compression: Compression, hotValueCacheBytes: Int = Options().hotValueCacheBytes) throws {
        store = try CacheStore(directory: directory, options: Options(
            compression: compression, durability: .none, hotValueCacheBytes: hotValueCacheBytes))
    }

    func set(_ key: [UInt8], _ value: [UInt8]) throws { try store.set(value, forKey: key) }

    func setBatch(_ pairs: [Pair]) throws {
        try store.setValues(pairs.map { StoreEntry(key: $0.key, value: $0.value, expiresAt: nil) })
    }

    func get(_ key: [UInt8], _ body: (UnsafeRawBufferPointer) -> Void) throws -> Bool {
        try store.withValue(forKey: key, body) != nil
    }

    func getBatch(_ keys: KeyBatch, _ body: (Int, UnsafeRawBufferPointer) -> Void) throws -> Int {
        try store.forEachValue(forKeys: keys.strings, body)
    }

    func flush() throws { try store.flush() }
    func close() throws { try store.close() }
}
