import CLMDB

/// LMDB with `MDB_NOSYNC` (commits are not fsynced; `flush` syncs), a 1 TiB map, values
/// compressed with zstd level 3 by the application (LMDB has no compression of its own),
/// and one read transaction kept and renewed for every lookup, as LMDB's documentation
/// advises for frequent readers.
final class LMDBPeer: PeerStore {
    private var env: OpaquePointer?
    private var dbi = MDB_dbi()
    private var reader: OpaquePointer?
    private let zstd = ZstdCodec(level: 3)

    init(directory: String) throws {
        try Self.check(mdb_env_create(&env), "env_create")
        try Self.check(mdb_env_set_mapsize(env, 1 << 40), "set_mapsize")
        try Self.check(mdb_env_open(env, directory, UInt32(MDB_NOSYNC), 0o644), "env_open")
        var txn: OpaquePointer?
        try Self.check(mdb_txn_begin(env, nil, 0, &txn), "txn_begin")
        try Self.check(mdb_dbi_open(txn, nil, 0, &dbi), "dbi_open")
        try Self.check(mdb_txn_commit(txn), "txn_commit")
        try Self.check(mdb_txn_begin(env, nil, UInt32(MDB_RDONLY), &reader), "txn_begin (read)")
        mdb_txn_reset(reader)
    }

    private static func check(_ rc: Int32, _ what: String) throws {
        guard rc == 0 else { throw PeerError("lmdb: \(what): \(String(cString: mdb_strerror(rc)))") }
    }

    private func put(_ txn: OpaquePointer?, _ key: [UInt8], _ value: [UInt8]) throws {
        try zstd.compress(value) { compressed in
            try key.withUnsafeBytes { k in
                var mk = MDB_val(mv_size: k.count, mv_data: UnsafeMutableRawPointer(mutating: k.baseAddress))
                var mv = MDB_val(mv_size: compressed.count, mv_data: UnsafeMutableRawPointer(mutating: compressed.baseAddress))
                try Self.check(mdb_put(txn, dbi, &mk, &mv, 0), "put")
            }
        }
    }

    private func write(_ body: (OpaquePointer?) throws -> Void) throws {
        var txn: OpaquePointer?
        try Self.check(mdb_txn_begin(env, nil, 0, &txn), "txn_begin")
        do { try body(txn) } catch { mdb_txn_abort(txn); throw error }
        try Self.check(mdb_txn_commit(txn), "txn_commit")
    }

    func set(_ key: [UInt8], _ value: [UInt8]) throws { try write { try put($0, key, value) } }

    func setBatch(_ pairs: [Pair]) throws { try write { txn in for p in pairs { try put(txn, p.key, p.value) } } }

    /// The value of `key` in the renewed read transaction, decompressed into a new buffer.
    private func lookup(_ key: [UInt8]) throws -> [UInt8]? {
        var data = MDB_val()
        let rc = key.withUnsafeBytes { k in
            var mk = MDB_val(mv_size: k.count, mv_data: UnsafeMutableRawPointer(mutating: k.baseAddress))
            return mdb_get(reader, dbi, &mk, &data)
        }
        if rc == MDB_NOTFOUND { return nil }
        try Self.check(rc, "get")
        return try zstd.decompress(UnsafeRawBufferPointer(start: data.mv_data, count: data.mv_size))
    }

    private func reading<R>(_ body: () throws -> R) throws -> R {
        try Self.check(mdb_txn_renew(reader), "txn_renew")
        defer { mdb_txn_reset(reader) }
        return try body()
    }

    func get(_ key: [UInt8], _ body: (UnsafeRawBufferPointer) -> Void) throws -> Bool {
        guard let value = try reading({ try lookup(key) }) else { return false }
        value.withUnsafeBytes(body)
        return true
    }

    func getBatch(_ keys: KeyBatch, _ body: (Int, UnsafeRawBufferPointer) -> Void) throws -> Int {
        try reading {
            var found = 0
            for (i, key) in keys.bytes.enumerated() {
                guard let value = try lookup(key) else { continue }
                value.withUnsafeBytes { body(i, $0) }
                found += 1
            }
            return found
        }
    }

    func flush() throws { try Self.check(mdb_env_sync(env, 1), "env_sync") }

    func close() throws {
        mdb_txn_abort(reader)
        reader = nil
        mdb_env_close(env)
        env = nil
    }
}
