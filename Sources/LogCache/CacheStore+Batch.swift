extension CacheStore {
    /// Stores many values, all with the same TTL, far more cheaply than as many `set` calls:
    /// encoded on every core, and written with one lock and one write per segment they land
    /// in, or, for a large compressed batch in a store without a capacity, per chunk of 64
    /// while the next chunks are encoded, each chunk in its own hold of the log's locks (so
    /// other handles may see the first chunks before the rest, and with
    /// ``Durability/syncEveryWrite`` each chunk is synced). A key or value out of limits is
    /// refused before any value is written. A write that fails part-way (a full disk) stops
    /// the batch there: the records written before it stay (the chunks before, and of the
    /// failing chunk those in a segment it filled before the failed write), none after it.
    public func setValues(_ values: [String: [UInt8]], ttl: Duration? = nil) throws(CacheError) {
        let now = clock.now()
        let pairs = Array(values)
        let encoder = self.encoder
        try appendBatch(count: pairs.count, check: { i throws(CacheError) in
            try RecordEncoder.check(keyLength: pairs[i].key.utf8.count, valueLength: pairs[i].value.count)
        }) { i throws(CacheError) in
            try withBytes(pairs[i].key) { k throws(CacheError) in
                try withBytes(pairs[i].value) { v throws(CacheError) in try encoder.value(key: k, value: v, ttl: ttl, now: now) }
            }
        }
    }

    /// The values of many keys, in the order of `keys`; nil where a key has no value.
    ///
    /// The index is consulted once for all keys, and records are read in log order, so that
    /// neighbouring records come off the disk together. Every value is held at once: for
    /// large values, ``forEachValue(forKeys:_:)`` needs memory for one at a time.
    public func values(forKeys keys: [String]) throws(CacheError) -> [[UInt8]?] {
        var results = [[UInt8]?](repeating: nil, count: keys.count)
        for hit in try locatedInLogOrder(keys.map { k in withBytes(k) { KeyHash.hash($0) } }) {
            results[hit.index] = try withBytes(keys[hit.index]) { k throws(CacheError) in
                try read(hit.entry, in: hit.segment, key: k)
            }
        }
        return results
    }

    /// Reads the values of many keys and hands each to `body` as soon as it is read and
    /// verified, with the key's position in `keys`; returns how many keys had a value.
    ///
    /// Values come in log order, not in the order of `keys`. Each is lent to `body` in a
    /// buffer valid only until `body` returns (from the segment's map when it is stored
    /// uncompressed, otherwise decompressed into a buffer that is reused), so a batch of large
    /// values costs the memory of one and no allocation per value; copy what must outlive the
    /// call.
    @discardableResult
    public func forEachValue(forKeys keys: [String], _ body: (Int, UnsafeRawBufferPointer) -> Void) throws(CacheError) -> Int {
        var count = 0
        for hit in try locatedInLogOrder(keys.map { k in withBytes(k) { KeyHash.hash($0) } }) {
            let found = try withBytes(keys[hit.index]) { k throws(CacheError) in
                try borrow(hit.entry, in: hit.segment, key: k) { body(hit.index, $1) }
            }
            if found { count += 1 }
        }
        return count
    }

    /// The entries of the keys with `hashes` that the index has, with each key's position,
    /// sorted by where their records are; the keys it lacks are counted as misses.
    func locatedInLogOrder(_ hashes: [UInt64]) throws(CacheError) -> [(index: Int, entry: IndexEntry, segment: Segment)] {
        try log.catchUpIfBehind()
        let found = try index.located(hashes)
        let order = found.enumerated()
            .compactMap { i, hit in hit.map { (index: i, entry: $0.0, segment: $0.1) } }
            .sorted { ($0.entry.segment, $0.entry.offset) < ($1.entry.segment, $1.entry.offset) }
        counters.misses.add(hashes.count - order.count, ordering: .relaxed)
        if let recorder {
            for (i, hit) in found.enumerated() where hit == nil { recorder.record(.miss, keyHash: hashes[i], size: 0) }
        }
        return order
    }
}
