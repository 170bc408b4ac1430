/// One live entry as a listing shows it: the key and what its record says, without the value.
public struct EntryInfo: Sendable, Equatable {
    /// The key bytes (UTF-8 for keys set as `String`, but any bytes are allowed).
    public var key: [UInt8]
    /// Value bytes once decompressed.
    public var rawLength: Int
    /// Value bytes as stored (after compression).
    public var storedLength: Int
    /// Bytes the whole record takes in its segment: header, key and stored value.
    public var recordLength: Int
    /// Milliseconds since 1970 when the value was written.
    public var createdAt: Int64
    /// Milliseconds since 1970 after which the value is gone; nil for never.
    public var expiresAt: Int64?
    /// What the value's bytes are, as their writer said (``ValueType``).
    public var valueType: ValueType

    /// An entry as its record describes it.
    public init(key: [UInt8], rawLength: Int, storedLength: Int, recordLength: Int, createdAt: Int64, expiresAt: Int64?,
                valueType: ValueType = .bytes) {
        self.valueType = valueType
        self.key = key
        self.rawLength = rawLength
        self.storedLength = storedLength
        self.recordLength = recordLength
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}

extension CacheStore {
    /// The live entries whose key starts with `prefix`, in log order (oldest write first), at
    /// most `limit` of them.
    ///
    /// Keys are not kept in memory, so this reads the header and key of every live record.
    public func entries(prefix: [UInt8] = [], limit: Int? = nil) throws(CacheError) -> [EntryInfo] {
        var result: [EntryInfo] = []
        try forEachEntry(prefix: prefix, limit: limit) { result.append($0); return true }
        return result
    }

    /// Visits the live entries whose key starts with `prefix`, in log order, until `body`
    /// returns false or `limit` entries were visited.
    ///
    /// Only each record's header and key are read; a record that no longer matches its index
    /// entry (damaged, or its key's hash differs) is skipped rather than listed under a wrong key.
    public func forEachEntry(
        prefix: [UInt8] = [], limit: Int? = nil, _ body: (EntryInfo) -> Bool
    ) throws(CacheError) {
        let now = clock.now()
        var visited = 0
        for (entry, segment) in try liveEntriesInLogOrder() {
            if let limit, visited >= limit { return }
            guard let info = try reader.info(entry, in: segment, now: now),
                  info.key.starts(with: prefix)
            else { continue }
            visited += 1
            guard body(info) else { return }
        }
    }

    /// Visits the live entries with their values, in log order, until `body` returns false.
    ///
    /// Every record is read whole and verified (checksum, key hash, decompression), so a
    /// damaged record is skipped instead of passed on with wrong bytes.
    public func forEachValue(prefix: [UInt8] = [], _ body: (EntryInfo, [UInt8]) -> Bool) throws(CacheError) {
        let now = clock.now()
        for (entry, segment) in try liveEntriesInLogOrder() {
            let found = try reader.read(entry, in: segment, key: nil, now: now) { h, bytes -> (EntryInfo, [UInt8])? in
                let key = RecordCoding.key(of: h, in: bytes)
                guard key.starts(with: prefix), let value = RecordReader.value(of: h, in: bytes) else { return nil }
                return (RecordReader.info(h, key: [UInt8](key)), value)
            }
            guard case .found(let (info, value)?) = found else { continue }
            guard body(info, value) else { return }
        }
    }

    /// A snapshot of the index in log order: by the segment's place in the manifest, then by
    /// offset, so that records are read in the order they were written.
    ///
    /// Segment numbers are not log order: a compaction gives the segments it writes new,
    /// higher numbers but puts them where the segments they replace were.
    private func liveEntriesInLogOrder() throws(CacheError) -> [(IndexEntry, Segment)] {
        try log.catchUpIfBehind()
        // Read under the log's mutex, so that the index agrees with the manifest.
        let index = self.index
        let (snapshot, order) = try log.withManifest { m throws(CacheError) -> ([(IndexEntry, Segment)], [UInt32: Int]) in
            var position: [UInt32: Int] = [:]
            position.reserveCapacity(m.segments.count)
            for (i, id) in m.segments.enumerated() { position[id] = i }
            return (try index.liveEntries(), position)
        }
        // A segment the manifest does not name (none should be) goes last, by number.
        func place(_ e: IndexEntry) -> (Int, UInt32, UInt32) { (order[e.segment] ?? Int.max, e.segment, e.offset) }
        return snapshot.sorted { place($0.0) < place($1.0) }
    }
}
