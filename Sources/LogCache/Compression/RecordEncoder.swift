import Dispatch

/// Turns what a caller writes into records ready to append, after checking every limit:
/// the first step of every write, taken before any lock.
struct RecordEncoder: Sendable {
    let settings: StoreSettings
    /// The store's record salt, which every checksum starts from.
    let salt: RecordSalt
    /// The zstd level for large values (``Options/zstdLevelForLargeValues``); nil for the store's.
    var largeValueLevel: Int? = nil
    /// Whether this handle's zstd values have their literals compressed: a choice measured
    /// on the values it writes (``LiteralSampler``), apart for values below and from
    /// ``ValueCodec/largeValueMinimum``, which a store often holds of different kinds.
    let literals = LiteralSampler()
    let largeValueLiterals = LiteralSampler()

    /// The value record of `key` and `value` with a relative `ttl` (nil for the store's
    /// default TTL, if any).
    func value(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, ttl: Duration?,
               now: Int64, type: ValueType = .bytes) throws(CacheError) -> PendingRecord {
        try self.value(key: key, value: value, expiresAt: try expiry(ttl: ttl, now: now), now: now, type: type)
    }

    /// The value record of `key` and `value` with an absolute expiry (milliseconds since
    /// 1970, 0 for never).
    func value(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, expiresAt: Int64,
               now: Int64, type: ValueType = .bytes) throws(CacheError) -> PendingRecord {
        try Self.checkValue(key: key, rawLength: value.count, expiresAt: expiresAt)
        let bytes = ValueCodec.encodeRecord(
            key: key, value: value, compression: compression(forLength: value.count),
            threshold: settings.compressionThreshold, createdAt: now, expiresAt: expiresAt, salt: salt,
            literals: value.count >= ValueCodec.largeValueMinimum ? largeValueLiterals : literals, valueType: type)
        return try valueRecord(bytes, key: key, expiresAt: expiresAt)
    }

    /// The value record of `key` whose value of `rawLength` bytes comes already compressed as
    /// `zstdFrame` (one zstd frame, no dictionary, known to decode to exactly that value), when
    /// this store would store it compressed with zstd: the frame is written as it is, which
    /// spares compressing the value again. Nil when the store would write it otherwise (another
    /// codec, no compression, a value under the threshold, a frame no smaller than the value);
    /// the caller then encodes the value itself.
    func value(key: UnsafeRawBufferPointer, zstdFrame: UnsafeRawBufferPointer, rawLength: Int, expiresAt: Int64,
               now: Int64, type: ValueType) throws(CacheError) -> PendingRecord? {
        guard case .zstd = settings.compression, rawLength >= max(settings.compressionThreshold, 1),
              zstdFrame.count < rawLength else { return nil }
        try Self.checkValue(key: key, rawLength: rawLength, expiresAt: expiresAt)
        let bytes = RecordCoding.encode(
            kind: .value, codec: .zstd, valueType: type, key: key, stored: zstdFrame, rawLength: rawLength,
            createdAt: now, expiresAt: expiresAt, salt: salt)
        return try valueRecord(bytes, key: key, expiresAt: expiresAt)
    }

    /// Checks what every value record must satisfy before it is encoded.
    private static func checkValue(key: UnsafeRawBufferPointer, rawLength: Int, expiresAt: Int64) throws(CacheError) {
        try checkKey(key)
        try checkExpiry(expiresAt)
        guard rawLength <= Limits.maxValueLength else {
            throw .valueTooLarge(length: rawLength, limit: Limits.maxValueLength)
        }
    }

    /// An encoded value record ready to append; a record that could never fit the capacity
    /// is refused before anything is evicted for it.
    private func valueRecord(_ bytes: [UInt8], key: UnsafeRawBufferPointer, expiresAt: Int64) throws(CacheError) -> PendingRecord {
        if let capacity = settings.capacityBytes, bytes.count > capacity {
            throw .exceedsCapacity(length: bytes.count, capacity: capacity)
        }
        return PendingRecord(bytes: bytes, keyHash: KeyHash.hash(key), kind: .value, expiresAt: expiresAt)
    }

    /// The store's compression, at the level for large values when `length` makes one.
    private func compression(forLength length: Int) -> Compression {
        guard length >= ValueCodec.largeValueMinimum, case .zstd = settings.compression, let level = largeValueLevel else {
            return settings.compression
        }
        return .zstd(level: level)
    }

    /// The tombstone that removes `key`, whose hash is `keyHash`.
    func tombstone(key: UnsafeRawBufferPointer, keyHash: UInt64, now: Int64) -> PendingRecord {
        let bytes = RecordCoding.encode(
            kind: .tombstone, codec: .none, key: key, stored: UnsafeRawBufferPointer(start: nil, count: 0),
            rawLength: 0, createdAt: now, expiresAt: 0, salt: salt)
        return PendingRecord(bytes: bytes, keyHash: keyHash, kind: .tombstone, expiresAt: 0)
    }

    /// The eviction record of the key with `keyHash`, so that a victim stays gone after a restart.
    func eviction(keyHash: UInt64, now: Int64) -> PendingRecord {
        PendingRecord(bytes: RecordCoding.eviction(keyHash: keyHash, at: now, salt: salt), keyHash: keyHash,
                      kind: .eviction, expiresAt: 0)
    }

    private func expiry(ttl: Duration?, now: Int64) throws(CacheError) -> Int64 {
        if let ttl {
            guard ttl > .zero else { throw .invalidOption("TTL must be positive") }
            return try Self.expiry(now: now, plus: ttl.milliseconds, what: "TTL")
        }
        guard let ttl = settings.defaultTTLMilliseconds else { return 0 }
        return try Self.expiry(now: now, plus: ttl, what: "default TTL")
    }

    // MARK: Limits

    /// Refuses an empty key or one longer than ``Limits/maxKeyLength``.
    static func checkKey(_ key: UnsafeRawBufferPointer) throws(CacheError) {
        guard !key.isEmpty, key.count <= Limits.maxKeyLength else { throw .invalidKey(length: key.count) }
    }

    /// The limits ``value(key:value:expiresAt:now:)`` checks on a key and a value by their
    /// lengths, in the same order: what a batch checks of every entry before it writes any.
    static func check(keyLength: Int, valueLength: Int) throws(CacheError) {
        guard keyLength > 0, keyLength <= Limits.maxKeyLength else { throw .invalidKey(length: keyLength) }
        guard valueLength <= Limits.maxValueLength else {
            throw .valueTooLarge(length: valueLength, limit: Limits.maxValueLength)
        }
    }

    /// Refuses an absolute expiry (milliseconds since 1970, 0 for never) that no record may
    /// hold: one before 1970 or past ``Limits/latestExpiry``.
    static func checkExpiry(_ expiresAt: Int64) throws(CacheError) {
        guard expiresAt >= 0 else { throw .invalidOption("expiry \(expiresAt) is before 1970") }
        guard expiresAt <= Limits.latestExpiry else {
            throw .invalidOption("expiry \(expiresAt) ms since 1970 is past the latest a store keeps, \(Limits.latestExpiry) (9999-12-31T23:59:59.999Z)")
        }
    }

    /// `now + ttl` in milliseconds, refused (naming `what` and the TTL) when the sum would
    /// pass ``Limits/latestExpiry`` or leave `Int64`: a clock may be set anywhere, and a TTL
    /// may come from a caller or a manifest.
    static func expiry(now: Int64, plus ttl: Int64, what: String) throws(CacheError) -> Int64 {
        let (sum, overflow) = now.addingReportingOverflow(ttl)
        // The TTL on its own too: a saturated one must not pass by a clock set before 1970.
        guard !overflow, ttl <= Limits.latestExpiry, sum <= Limits.latestExpiry else {
            throw .invalidOption("\(what) of \(ttl) ms from now (\(now) ms since 1970) would expire past the latest moment a store keeps, \(Limits.latestExpiry) ms since 1970 (9999-12-31T23:59:59.999Z)")
        }
        // A clock before 1970 gives no expiry a record can hold either.
        guard sum > 0 else { throw .invalidOption("\(what) of \(ttl) ms from now (\(now) ms since 1970) would expire before 1970") }
        return sum
    }

    // MARK: Batches

    /// Below this many records a batch is encoded on the caller's thread: handing work to
    /// other threads costs more than compressing a few values.
    static let parallelMinimum = 64

    /// Encodes the records of a batch, on every core when the batch is large and compressed.
    ///
    /// Compression is most of the cost of a batched write (zstd level 3 takes microseconds per
    /// kilobyte) and each record compresses on its own, so a batch's records are encoded in
    /// chunks on several threads before the writer lock is taken; the records keep the order
    /// of `count`. The first error by position is thrown, as encoding in order would.
    func batch(count: Int, _ encode: @Sendable (Int) throws(CacheError) -> PendingRecord) throws(CacheError) -> [PendingRecord] {
        let workers = Processors.online
        guard count >= Self.parallelMinimum, workers > 1, settings.compression != .none else {
            var records: [PendingRecord] = []
            records.reserveCapacity(count)
            for i in 0..<count { records.append(try encode(i)) }
            return records
        }
        // Several chunks per thread, taken in turn, so that a thread slowed by other work
        // on the machine does not hold the batch up.
        let chunks = min(count, workers * 4)
        var slots = [PendingRecord?](repeating: nil, count: count)
        var failures = [CacheError?](repeating: nil, count: chunks)
        slots.withUnsafeMutableBufferPointer { out in
            failures.withUnsafeMutableBufferPointer { failed in
                // Each chunk writes only its own slots and its own failure cell.
                let cells = Cells(records: out, failures: failed)
                DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                    for i in (count * chunk / chunks)..<(count * (chunk + 1) / chunks) {
                        do throws(CacheError) {
                            cells.records[i] = try encode(i)
                        } catch {
                            cells.failures[chunk] = error
                            return
                        }
                    }
                }
            }
        }
        if let error = failures.lazy.compactMap({ $0 }).first { throw error }
        let records = slots.compactMap { $0 }
        guard records.count == count else { throw .invalidOption("a batch's records were not all encoded") }
        return records
    }
}

/// The output cells of a parallel encoding, shared by its threads, which write disjoint cells.
private struct Cells: @unchecked Sendable {
    let records: UnsafeMutableBufferPointer<PendingRecord?>
    let failures: UnsafeMutableBufferPointer<CacheError?>
}
