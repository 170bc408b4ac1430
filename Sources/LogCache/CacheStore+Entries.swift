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

    /// An entry as its record describes it.
    public init(key: [UInt8], rawLength: Int, storedLength: Int, recordLength: Int, createdAt: Int64, expiresAt: Int64?) {
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
            guard let info = try readEntryInfo(entry: entry, segment: segment, now: now),
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
            if entry.certainlyExpired(at: now) { continue }
            let record = try segment.readRecord(offset: entry.offset, length: entry.length)
            let found = record.withUnsafeBytes { bytes -> (EntryInfo, [UInt8])? in
                guard let h = verifiedValueRecord(bytes, entry: entry), !h.isExpired(at: now) else { return nil }
                let key = RecordCoding.key(of: h, in: bytes)
                guard KeyHash.hash(key) == entry.keyHash, key.starts(with: prefix),
                      let value = ValueCodec.decode(RecordCoding.storedValue(of: h, in: bytes), codec: h.codec,
                                                    rawLength: h.rawLength)
                else { return nil }
                return (Self.info(h, key: [UInt8](key)), value)
            }
            guard let (info, value) = found else { continue }
            guard body(info, value) else { return }
        }
    }

    /// A snapshot of the index in log order: by the segment's place in the manifest, then by
    /// offset, so that records are read in the order they were written.
    ///
    /// Segment numbers are not log order: a compaction gives the segments it writes new,
    /// higher numbers but puts them where the segments they replace were.
    private func liveEntriesInLogOrder() throws(CacheError) -> [(IndexEntry, Segment)] {
        try catchUpIfNeeded()
        // The manifest and the index change together under the writer lock (a catch-up, a
        // roll, a compaction's publish), so both are read under it to agree with each other.
        let (snapshot, order) = try writer.withLock { w throws(CacheError) -> ([(IndexEntry, Segment)], [UInt32: Int]) in
            guard !w.closed else { throw .closed }
            var position: [UInt32: Int] = [:]
            position.reserveCapacity(w.manifest.segments.count)
            for (i, id) in w.manifest.segments.enumerated() { position[id] = i }
            let list = try state.read { s throws(CacheError) -> [(IndexEntry, Segment)] in
                guard !s.closed else { throw .closed }
                var list: [(IndexEntry, Segment)] = []
                list.reserveCapacity(s.live.count)
                s.live.index.forEach { _, e in
                    if let segment = s.segments[e.segment] { list.append((e, segment)) }
                }
                return list
            }
            return (list, position)
        }
        // A segment the manifest does not name (none should be) goes last, by number.
        func place(_ e: IndexEntry) -> (Int, UInt32, UInt32) { (order[e.segment] ?? Int.max, e.segment, e.offset) }
        return snapshot.sorted { place($0.0) < place($1.0) }
    }

    /// The header and key of the record `entry` points at, when it is a live value whose key
    /// has the entry's hash.
    private func readEntryInfo(entry: IndexEntry, segment: Segment, now: Int64) throws(CacheError) -> EntryInfo? {
        if entry.certainlyExpired(at: now) { return nil }
        // One read is enough for the usual short key; a longer key takes a second one.
        let length = Int(entry.length)
        var bytes = try segment.file.read(count: min(length, RecordHeader.size + 256), at: Int(entry.offset))
        let header = bytes.withUnsafeBytes { RecordCoding.decodeHeader($0) }
        guard case .success(let h) = header, h.totalLength == length, h.kind == .value,
              !h.isExpired(at: now)
        else { return nil }
        let keyEnd = RecordHeader.size + h.keyLength
        if bytes.count < keyEnd {
            bytes = try segment.file.read(count: keyEnd, at: Int(entry.offset))
            guard bytes.count == keyEnd else { return nil }
        }
        let key = [UInt8](bytes[RecordHeader.size..<keyEnd])
        guard withBytes(key, { KeyHash.hash($0) }) == entry.keyHash else { return nil }
        return Self.info(h, key: key)
    }

    private static func info(_ h: RecordHeader, key: [UInt8]) -> EntryInfo {
        EntryInfo(key: key, rawLength: h.rawLength, storedLength: h.storedLength, recordLength: h.totalLength,
                  createdAt: h.createdAt,
                  expiresAt: h.expiresAt == 0 ? nil : h.expiresAt)
    }
}
