import Foundation
import CRocksDB

/// RocksDB with its own compression (LZ4, and zstd for the bottommost level, as its tuning
/// guide recommends), full Bloom filters of 10 bits per key, a 64 MiB block cache, two
/// background threads, and the WAL written but not synced per write (its default).
/// Lookups use the pinned-slice API (no copy); batches use MultiGet.
final class RocksDBPeer: PeerStore {
    private var db: OpaquePointer?
    private var family: OpaquePointer?
    private let options = rocksdb_options_create()
    private let table = rocksdb_block_based_options_create()
    private let cache = rocksdb_cache_create_lru(64 << 20)
    private let readOptions = rocksdb_readoptions_create()
    private let writeOptions = rocksdb_writeoptions_create()

    init(directory: String) throws {
        rocksdb_options_set_create_if_missing(options, 1)
        rocksdb_options_increase_parallelism(options, 2)
        rocksdb_options_set_compression(options, Int32(rocksdb_lz4_compression))
        rocksdb_options_set_bottommost_compression(options, Int32(rocksdb_zstd_compression))
        rocksdb_block_based_options_set_filter_policy(table, rocksdb_filterpolicy_create_bloom_full(10))
        rocksdb_block_based_options_set_block_cache(table, cache)
        rocksdb_options_set_block_based_table_factory(options, table)
        // Opened through the column-family call only to get the default family's handle,
        // which the batched MultiGet needs.
        var err: UnsafeMutablePointer<CChar>?
        var names: [UnsafePointer<CChar>?] = [UnsafePointer(strdup("default"))]
        var familyOptions: [OpaquePointer?] = [options]
        var handles: [OpaquePointer?] = [nil]
        db = rocksdb_open_column_families(options, directory, 1, &names, &familyOptions, &handles, &err)
        free(UnsafeMutableRawPointer(mutating: names[0]))
        try Self.check(err, "open")
        family = handles[0]
    }

    private static func check(_ err: UnsafeMutablePointer<CChar>?, _ what: String) throws {
        guard let err else { return }
        defer { free(err) }
        throw PeerError("rocksdb: \(what): \(String(cString: err))")
    }

    func set(_ key: [UInt8], _ value: [UInt8]) throws {
        var err: UnsafeMutablePointer<CChar>?
        key.withUnsafeBytes { k in
            value.withUnsafeBytes { v in
                rocksdb_put(db, writeOptions, k.baseAddress, k.count, v.baseAddress, v.count, &err)
            }
        }
        try Self.check(err, "put")
    }

    func setBatch(_ pairs: [Pair]) throws {
        let batch = rocksdb_writebatch_create()
        defer { rocksdb_writebatch_destroy(batch) }
        for p in pairs {
            p.key.withUnsafeBytes { k in
                p.value.withUnsafeBytes { v in rocksdb_writebatch_put(batch, k.baseAddress, k.count, v.baseAddress, v.count) }
            }
        }
        var err: UnsafeMutablePointer<CChar>?
        rocksdb_write(db, writeOptions, batch, &err)
        try Self.check(err, "write")
    }

    func get(_ key: [UInt8], _ body: (UnsafeRawBufferPointer) -> Void) throws -> Bool {
        var err: UnsafeMutablePointer<CChar>?
        let slice = key.withUnsafeBytes { k in rocksdb_get_pinned(db, readOptions, k.baseAddress, k.count, &err) }
        try Self.check(err, "get")
        guard let slice else { return false }
        defer { rocksdb_pinnableslice_destroy(slice) }
        var length = 0
        let bytes = rocksdb_pinnableslice_value(slice, &length)
        body(UnsafeRawBufferPointer(start: bytes, count: length))
        return true
    }

    func getBatch(_ keys: KeyBatch, _ body: (Int, UnsafeRawBufferPointer) -> Void) throws -> Int {
        let n = keys.bytes.count
        var slices = [OpaquePointer?](repeating: nil, count: n)
        var errs = [UnsafeMutablePointer<CChar>?](repeating: nil, count: n)
        var sizes = keys.bytes.map { $0.count }
        // The key arrays outlive the call, so their storage can be passed as C pointers.
        var pointers: [UnsafePointer<CChar>?] = []
        pointers.reserveCapacity(n)
        func collect(_ i: Int) {
            if i == n {
                rocksdb_batched_multi_get_cf(db, readOptions, family, n, &pointers, &sizes, &slices, &errs, false)
                return
            }
            keys.bytes[i].withUnsafeBytes { k in
                pointers.append(k.baseAddress?.assumingMemoryBound(to: CChar.self))
                collect(i + 1)
            }
        }
        collect(0)
        var found = 0
        for i in 0..<n {
            try Self.check(errs[i], "multi_get")
            guard let slice = slices[i] else { continue }
            var length = 0
            let bytes = rocksdb_pinnableslice_value(slice, &length)
            body(i, UnsafeRawBufferPointer(start: bytes, count: length))
            rocksdb_pinnableslice_destroy(slice)
            found += 1
        }
        return found
    }

    /// Writes the memtable to a table file and waits: the data is then in synced files.
    func flush() throws {
        let flushOptions = rocksdb_flushoptions_create()
        defer { rocksdb_flushoptions_destroy(flushOptions) }
        rocksdb_flushoptions_set_wait(flushOptions, 1)
        var err: UnsafeMutablePointer<CChar>?
        rocksdb_flush(db, flushOptions, &err)
        try Self.check(err, "flush")
    }

    func close() throws {
        rocksdb_column_family_handle_destroy(family)
        rocksdb_close(db)
        db = nil
        rocksdb_readoptions_destroy(readOptions)
        rocksdb_writeoptions_destroy(writeOptions)
        rocksdb_options_destroy(options)
        rocksdb_block_based_options_destroy(table)
        rocksdb_cache_destroy(cache)
    }
}
