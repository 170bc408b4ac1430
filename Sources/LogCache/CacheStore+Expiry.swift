/// A key, its value and an absolute expiry: what a copy of a store (an export) holds of each
/// entry, so that it can be written back with the same life left.
public struct StoreEntry: Sendable, Equatable {
    /// The key bytes.
    public var key: [UInt8]
    /// The value bytes.
    public var value: [UInt8]
    /// Milliseconds since 1970 after which the value is gone; nil for never (the store's
    /// default TTL does not apply: the entry says when it expires).
    public var expiresAt: Int64?

    /// An entry to write; `expiresAt` in milliseconds since 1970, nil for never.
    public init(key: [UInt8], value: [UInt8], expiresAt: Int64?) {
        self.key = key
        self.value = value
        self.expiresAt = expiresAt
    }
}

extension CacheStore {
    /// Stores `value` under `key` until the given moment (milliseconds since 1970), or for
    /// ever when `expiresAt` is nil; the store's default TTL does not apply.
    ///
    /// For copying entries between stores, where a relative TTL would extend every entry's
    /// life by the time the copy took. A moment already past stores a value that reads as absent.
    ///
    /// - Throws: ``CacheError/invalidOption(_:)`` for a moment not after 1970 or past
    ///   ``Limits/latestExpiry``; nothing is written then.
    public func set(_ value: [UInt8], forKey key: [UInt8], expiresAt: Int64?) throws(CacheError) {
        try setValues([StoreEntry(key: key, value: value, expiresAt: expiresAt)])
    }

    /// Stores many entries, each with its own absolute expiry, with one lock and one write per
    /// segment they land in. Entries are written in order, so of two with the same key the
    /// later one wins. An expiry not after 1970 or past ``Limits/latestExpiry`` is refused
    /// with ``CacheError/invalidOption(_:)`` before any entry is written.
    public func setValues(_ entries: [StoreEntry]) throws(CacheError) {
        let now = clock.now()
        for entry in entries {
            if let e = entry.expiresAt {
                if e <= 0 { throw .invalidOption("expiry \(e) is not after 1970") }
                try Self.checkExpiry(e)
            }
        }
        let records = try encodeRecords(count: entries.count) { i throws(CacheError) in
            let entry = entries[i]
            return try withBytes(entry.key) { k throws(CacheError) in
                try withBytes(entry.value) { v throws(CacheError) in
                    try encodeValueRecord(key: k, value: v, expiresAt: entry.expiresAt ?? 0, now: now)
                }
            }
        }
        try append(records)
        counters.writes.add(records.count, ordering: .relaxed)
    }
}

extension CacheStore {
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
}
