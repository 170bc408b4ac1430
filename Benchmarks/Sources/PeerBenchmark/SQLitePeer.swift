import CSQLite

/// SQLite the way a careful cache uses it: WAL journal, `synchronous=NORMAL` (no fsync per
/// commit; the WAL is synced at checkpoints), one table with the key as primary key and the
/// value as a zstd-compressed blob, prepared statements, a 64 MiB page cache, and batched
/// lookups with `IN (…)`; a busy timeout, so that processes sharing the file wait for each other.
final class SQLitePeer: PeerStore {
    private var db: OpaquePointer?
    private var upsert: OpaquePointer?
    private var select: OpaquePointer?
    /// `SELECT … IN (?, …)` statements by the number of keys they take.
    private var selectIn: [Int: OpaquePointer] = [:]
    private let zstd = ZstdCodec(level: 3)
    private let path: String

    /// SQLite's destructor argument that says "copy the bytes now"; not imported as a constant.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    init(directory: String) throws {
        path = directory + "/cache.sqlite"
        guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK
        else { throw PeerError("sqlite: cannot open \(path)") }
        // Several processes share one store in workload 7: a writer waits for another's
        // transaction instead of failing at once with SQLITE_BUSY.
        guard sqlite3_busy_timeout(db, 30_000) == SQLITE_OK else { throw failure("busy_timeout") }
        try exec("PRAGMA journal_mode=WAL")
        try exec("PRAGMA synchronous=NORMAL")
        try exec("PRAGMA cache_size=-65536")
        try exec("CREATE TABLE IF NOT EXISTS cache (key BLOB PRIMARY KEY NOT NULL, value BLOB NOT NULL)")
        upsert = try prepare("INSERT INTO cache (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        select = try prepare("SELECT value FROM cache WHERE key = ?1")
    }

    private func exec(_ sql: String) throws {
        guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else { throw failure(sql) }
    }

    private func prepare(_ sql: String) throws -> OpaquePointer? {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil) == SQLITE_OK
        else { throw failure(sql) }
        return statement
    }

    private func failure(_ what: String) -> PeerError {
        PeerError("sqlite: \(what): \(String(cString: sqlite3_errmsg(db)))")
    }

    private func bind(_ statement: OpaquePointer?, _ index: Int32, _ bytes: UnsafeRawBufferPointer) {
        // SQLITE_STATIC (nil): the bytes stay valid until the statement has run.
        sqlite3_bind_blob(statement, index, bytes.baseAddress, Int32(bytes.count), nil)
    }

    private func put(_ key: [UInt8], _ value: [UInt8]) throws {
        try zstd.compress(value) { compressed in
            try key.withUnsafeBytes { k in
                bind(upsert, 1, k)
                bind(upsert, 2, compressed)
                defer { sqlite3_reset(upsert) }
                guard sqlite3_step(upsert) == SQLITE_DONE else { throw failure("insert") }
            }
        }
    }

    func set(_ key: [UInt8], _ value: [UInt8]) throws { try put(key, value) }

    func setBatch(_ pairs: [Pair]) throws {
        try exec("BEGIN")
        for p in pairs { try put(p.key, p.value) }
        try exec("COMMIT")
    }

    func get(_ key: [UInt8], _ body: (UnsafeRawBufferPointer) -> Void) throws -> Bool {
        defer { sqlite3_reset(select) }
        let rc = key.withUnsafeBytes { k in
            bind(select, 1, k)
            return sqlite3_step(select)
        }
        if rc == SQLITE_DONE { return false }
        guard rc == SQLITE_ROW else { throw failure("select") }
        let blob = UnsafeRawBufferPointer(start: sqlite3_column_blob(select, 0), count: Int(sqlite3_column_bytes(select, 0)))
        try zstd.decompress(blob).withUnsafeBytes(body)
        return true
    }

    func getBatch(_ keys: KeyBatch, _ body: (Int, UnsafeRawBufferPointer) -> Void) throws -> Int {
        let n = keys.bytes.count
        if selectIn[n] == nil {
            let marks = Array(repeating: "?", count: n).joined(separator: ", ")
            selectIn[n] = try prepare("SELECT key, value FROM cache WHERE key IN (\(marks))")
        }
        let statement = selectIn[n]
        defer { sqlite3_reset(statement) }
        // Rows come back in index order, not in the order asked: find each row's position.
        var position: [[UInt8]: Int] = [:]
        position.reserveCapacity(n)
        for (i, key) in keys.bytes.enumerated() {
            position[key] = i
            key.withUnsafeBytes { k in _ = sqlite3_bind_blob(statement, Int32(i + 1), k.baseAddress, Int32(k.count), Self.transient) }
        }
        var found = 0
        while true {
            let rc = sqlite3_step(statement)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw failure("select in") }
            let key = [UInt8](UnsafeRawBufferPointer(start: sqlite3_column_blob(statement, 0), count: Int(sqlite3_column_bytes(statement, 0))))
            let blob = UnsafeRawBufferPointer(start: sqlite3_column_blob(statement, 1), count: Int(sqlite3_column_bytes(statement, 1)))
            guard let i = position[key] else { throw PeerError("sqlite: a key that was not asked for") }
            try zstd.decompress(blob).withUnsafeBytes { body(i, $0) }
            found += 1
        }
        return found
    }

    /// A full checkpoint syncs the WAL and copies it into the database file.
    func flush() throws { try exec("PRAGMA wal_checkpoint(FULL)") }

    func close() throws {
        for s in [upsert, select] + Array(selectIn.values) { sqlite3_finalize(s) }
        selectIn = [:]
        upsert = nil
        select = nil
        guard sqlite3_close(db) == SQLITE_OK else { throw failure("close") }
        db = nil
    }
}
