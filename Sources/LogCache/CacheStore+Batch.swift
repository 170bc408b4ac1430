extension CacheStore {
    /// Stores many values with one lock and one write per segment they land in, which is far
    /// cheaper than as many `set` calls. All get the same TTL.
    public func setValues(_ values: [String: [UInt8]], ttl: Duration? = nil) throws(CacheError) {
        let now = clock.now()
        var records: [PendingRecord] = []
        records.reserveCapacity(values.count)
        for (key, value) in values {
            let record = try withBytes(key) { k throws(CacheError) in
                try withBytes(value) { v throws(CacheError) in try encodeValueRecord(key: k, value: v, ttl: ttl, now: now) }
            }
            records.append(record)
        }
        try append(records)
        counters.writes.add(records.count, ordering: .relaxed)
    }

    /// The values of many keys, in the order of `keys`; nil where a key has no value.
    ///
    /// The index is consulted once for all keys, and records are read in log order, so that
    /// neighbouring records come off the disk together.
    public func values(forKeys keys: [String]) throws(CacheError) -> [[UInt8]?] {
        let hashes = keys.map { k in withBytes(k) { KeyHash.hash($0) } }
        try catchUpIfNeeded()
        let found = try state.read { s throws(CacheError) -> [(IndexEntry, Segment)?] in
            guard !s.closed else { throw .closed }
            return hashes.map { h in
                guard let e = s.live.index.entry(for: h), let seg = s.segments[e.segment] else { return nil }
                return (e, seg)
            }
        }
        var results = [[UInt8]?](repeating: nil, count: keys.count)
        let order = found.enumerated()
            .compactMap { i, hit in hit.map { (index: i, entry: $0.0, segment: $0.1) } }
            .sorted { ($0.entry.segment, $0.entry.offset) < ($1.entry.segment, $1.entry.offset) }
        for hit in order {
            results[hit.index] = try withBytes(keys[hit.index]) { k throws(CacheError) in
                try readValue(entry: hit.entry, segment: hit.segment, key: k)
            }
        }
        counters.misses.add(keys.count - order.count, ordering: .relaxed)
        return results
    }
}
