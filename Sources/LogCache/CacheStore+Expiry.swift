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
    /// What the value's bytes are, kept with them in the store.
    public var type: ValueType

    /// An entry to write; `expiresAt` in milliseconds since 1970, nil for never.
    public init(key: [UInt8], value: [UInt8], expiresAt: Int64?, type: ValueType = .bytes) {
        self.key = key
        self.value = value
        self.expiresAt = expiresAt
        self.type = type
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
    /// - Parameters:
    ///   - value: the bytes to store.
    ///   - key: the key, as bytes.
    ///   - type: the value's type (``ValueType``), plain bytes by default.
    ///   - expiresAt: milliseconds since 1970 after which the value reads as absent; nil for never.
    public func set(_ value: [UInt8], forKey key: [UInt8], type: ValueType = .bytes, expiresAt: Int64?) throws(CacheError) {
        if let e = expiresAt {
            if e <= 0 { throw .invalidOption("expiry \(e) is not after 1970") }
            try RecordEncoder.checkExpiry(e)
        }
        // One record through the path of a single set, not a batch of one: a read-through
        // cache in front (the shared tier) writes each value it fetches this way.
        let encoder = self.encoder, now = clock.now()
        let record = try withBytes(key) { k throws(CacheError) in
            try withBytes(value) { v throws(CacheError) in
                try encoder.value(key: k, value: v, expiresAt: expiresAt ?? 0, now: now, type: type)
            }
        }
        try append([record])
        counters.writes.add(1, ordering: .relaxed)
    }

    /// Stores `value` under `key` until `expiresAt` unless the key has a live value when the
    /// write is made, in this process or another: what a read-through tier in front of the
    /// store writes with a value it fetched, so that a value set in between (newer than the
    /// fetched one) is never overwritten by it. Returns whether it was written.
    ///
    /// `zstdFrame`, when given, is `value` as one zstd frame without a dictionary, which the
    /// caller has decoded to exactly `value` (the shared tier decodes what it fetched to get
    /// the value, after its checksum): a store that compresses with zstd writes the frame as
    /// the record's stored bytes instead of compressing the value again. Its level is then the
    /// frame's, not the store's.
    package func setIfAbsent(_ value: [UInt8], forKey key: [UInt8], type: ValueType, expiresAt: Int64?,
                             zstdFrame: ArraySlice<UInt8>? = nil) throws(CacheError) -> Bool {
        if let e = expiresAt {
            if e <= 0 { throw .invalidOption("expiry \(e) is not after 1970") }
            try RecordEncoder.checkExpiry(e)
        }
        let encoder = self.encoder, now = clock.now()
        let record = try withBytes(key) { k throws(CacheError) in
            if let zstdFrame, let kept = try withBytes(zstdFrame, { f throws(CacheError) in
                try encoder.value(key: k, zstdFrame: f, rawLength: value.count, expiresAt: expiresAt ?? 0, now: now, type: type)
            }) {
                return kept
            }
            return try withBytes(value) { v throws(CacheError) in
                try encoder.value(key: k, value: v, expiresAt: expiresAt ?? 0, now: now, type: type)
            }
        }
        guard try append([record], unlessLive: true) else { return false }
        counters.writes.add(1, ordering: .relaxed)
        return true
    }

    /// Stores many entries, each with its own absolute expiry, written as
    /// ``setValues(_:ttl:)-([String:[UInt8]],_)`` writes them. Entries are written in order, so of two with the
    /// same key the later one wins. An expiry not after 1970 or past ``Limits/latestExpiry``
    /// is refused with ``CacheError/invalidOption(_:)``, and a key or value out of limits
    /// with its own error, before any entry is written.
    public func setValues(_ entries: [StoreEntry]) throws(CacheError) {
        let now = clock.now()
        for entry in entries {
            if let e = entry.expiresAt {
                if e <= 0 { throw .invalidOption("expiry \(e) is not after 1970") }
                try RecordEncoder.checkExpiry(e)
            }
        }
        let encoder = self.encoder
        try appendBatch(count: entries.count, check: { i throws(CacheError) in
            try RecordEncoder.check(keyLength: entries[i].key.count, valueLength: entries[i].value.count)
        }) { i throws(CacheError) in
            let entry = entries[i]
            return try withBytes(entry.key) { k throws(CacheError) in
                try withBytes(entry.value) { v throws(CacheError) in
                    try encoder.value(key: k, value: v, expiresAt: entry.expiresAt ?? 0, now: now, type: entry.type)
                }
            }
        }
    }
}
