import CLevelDB

/// LevelDB with Snappy (its only compression), a Bloom filter of 10 bits per key, a 64 MiB
/// block cache, a 64 MiB write buffer (its default of 4 MiB compacts far more often), and
/// unsynced writes (its default). It has no MultiGet: batches are lookups in a loop.
final class LevelDBPeer: PeerStore {
    private var db: OpaquePointer?
    private let options = leveldb_options_create()
    private let filter = leveldb_filterpolicy_create_bloom(10)
    private let cache = leveldb_cache_create_lru(64 << 20)
    private let readOptions = leveldb_readoptions_create()
    private let writeOptions = leveldb_writeoptions_create()

    init(directory: String) throws {
        leveldb_options_set_create_if_missing(options, 1)
        leveldb_options_set_compression(options, Int32(leveldb_snappy_compression))
        leveldb_options_set_filter_policy(options, filter)
        leveldb_options_set_cache(options, cache)
        leveldb_options_set_write_buffer_size(options, 64 << 20)
        var err: UnsafeMutablePointer<CChar>?
        db = leveldb_open(options, directory, &err)
        try Self.check(err, "open")
    }

    private static func check(_ err: UnsafeMutablePointer<CChar>?, _ what: String) throws {
        guard let err else { return }
        defer { leveldb_free(err) }
        throw PeerError("leveldb: \(what): \(String(cString: err))")
    }

    func set(_ key: [UInt8], _ value: [UInt8]) throws {
        var err: UnsafeMutablePointer<CChar>?
        key.withUnsafeBytes { k in
            value.withUnsafeBytes { v in
                leveldb_put(db, writeOptions, k.baseAddress, k.count, v.baseAddress, v.count, &err)
            }
        }
        try Self.check(err, "put")
    }

    func setBatch(_ pairs: [Pair]) throws {
        let batch = leveldb_writebatch_create()
        defer { leveldb_writebatch_destroy(batch) }
        for p in pairs {
            p.key.withUnsafeBytes { k in
                p.value.withUnsafeBytes { v in leveldb_writebatch_put(batch, k.baseAddress, k.count, v.baseAddress, v.count) }
            }
        }
        var err: UnsafeMutablePointer<CChar>?
        leveldb_write(db, writeOptions, batch, &err)
        try Self.check(err, "write")
    }

    func get(_ key: [UInt8], _ body: (UnsafeRawBufferPointer) -> Void) throws -> Bool {
        var err: UnsafeMutablePointer<CChar>?
        var length = 0
        let value = key.withUnsafeBytes { k in leveldb_get(db, readOptions, k.baseAddress, k.count, &length, &err) }
        try Self.check(err, "get")
        guard let value else { return false }
        defer { leveldb_free(value) }
        body(UnsafeRawBufferPointer(start: value, count: length))
        return true
    }

    func getBatch(_ keys: KeyBatch, _ body: (Int, UnsafeRawBufferPointer) -> Void) throws -> Int {
        var found = 0
        for (i, key) in keys.bytes.enumerated() where try get(key, { body(i, $0) }) { found += 1 }
        return found
    }

    /// An empty batch written with `sync`: fsyncs the log, which holds every write since the
    /// last table file (and table files are synced when written).
    func flush() throws {
        let batch = leveldb_writebatch_create()
        defer { leveldb_writebatch_destroy(batch) }
        let syncing = leveldb_writeoptions_create()
        defer { leveldb_writeoptions_destroy(syncing) }
        leveldb_writeoptions_set_sync(syncing, 1)
        var err: UnsafeMutablePointer<CChar>?
        leveldb_write(db, syncing, batch, &err)
        try Self.check(err, "write (sync)")
    }

    func close() throws {
        leveldb_close(db)
        db = nil
        leveldb_readoptions_destroy(readOptions)
        leveldb_writeoptions_destroy(writeOptions)
        leveldb_options_destroy(options)
        leveldb_filterpolicy_destroy(filter)
        leveldb_cache_destroy(cache)
    }
}
