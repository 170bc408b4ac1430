/// Reads the record an index entry points at and checks that it is what the entry says: the
/// one implementation behind every read of a value (get, batch get, remove, listings, export)
/// and, for the decoding step, fsck.
struct RecordReader: Sendable {
    /// The store's record salt: a record whose checksum does not start from it was not
    /// written by this store.
    let salt: RecordSalt

    /// What reading an entry's record found.
    enum Outcome<T> {
        /// A good, unexpired value record of the key, and what the caller made of it.
        case found(T)
        /// The entry or its record has expired.
        case expired
        /// The record is not the good value record the entry says (length, checksum, kind):
        /// it must never be returned.
        case damaged
        /// The record is another key's with the same 64-bit hash.
        case otherKey
    }

    /// Reads the record of `entry` (from the segment's map when it is sealed, with one `pread`
    /// otherwise) and checks, in order: its length against
    /// the entry, its salted checksum and kind, its key (the bytes of `key`, or when nil the
    /// entry's hash), its expiry at `now`; `body` is given the header and the record only
    /// when all hold.
    func read<T>(_ entry: IndexEntry, in segment: Segment, key: UnsafeRawBufferPointer?, now: Int64,
                 _ body: (RecordHeader, UnsafeRawBufferPointer) -> T) throws(CacheError) -> Outcome<T> {
        if entry.certainlyExpired(at: now) { return .expired }
        return try segment.withRecord(offset: entry.offset, length: entry.length) { bytes -> Outcome<T> in
            guard bytes.count == Int(entry.length), case .success(let h) = RecordCoding.decodeHeader(bytes),
                  h.totalLength == bytes.count, h.kind == .value, RecordCoding.checksumMatches(bytes, h, salt: salt)
            else { return .damaged }
            let recordKey = RecordCoding.key(of: h, in: bytes)
            if let key {
                guard recordKey.elementsEqual(key) else { return .otherKey }
            } else {
                guard KeyHash.hash(recordKey) == entry.keyHash else { return .otherKey }
            }
            if h.isExpired(at: now) { return .expired }
            return .found(body(h, bytes))
        }
    }

    /// The value of a verified record, decompressed to exactly the length its header gives;
    /// nil when it does not decompress so.
    static func value(of h: RecordHeader, in record: UnsafeRawBufferPointer) -> [UInt8]? {
        ValueCodec.decode(RecordCoding.storedValue(of: h, in: record), codec: h.codec, rawLength: h.rawLength)
    }

    /// ``read(_:in:key:now:_:)`` for a caller that borrows the value: `body` is given the
    /// record's header and its value, valid only inside `body` (``withValue(of:in:_:)``), once
    /// every check has passed; `.found(nil)` when the record passed them but its value does
    /// not decode.
    func withValue<T>(_ entry: IndexEntry, in segment: Segment, key: UnsafeRawBufferPointer?, now: Int64,
                      _ body: (RecordHeader, UnsafeRawBufferPointer) -> T) throws(CacheError) -> Outcome<T?> {
        try read(entry, in: segment, key: key, now: now) { h, bytes in Self.withValue(of: h, in: bytes) { body(h, $0) } }
    }

    /// Calls `body` with the value of a verified record, valid only inside `body`: the
    /// stored bytes themselves when they are not compressed (straight from a segment's map,
    /// with no copy), otherwise decompressed into a reused buffer. Nil, and `body` not
    /// called, when the value does not decompress to exactly the length its header gives.
    static func withValue<R>(of h: RecordHeader, in record: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> R) -> R? {
        let stored = RecordCoding.storedValue(of: h, in: record)
        if h.codec == .none { return stored.count == h.rawLength ? body(stored) : nil }
        return ScratchBuffers.with(count: h.rawLength) { buffer -> R? in
            let out = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<h.rawLength])
            guard ValueCodec.decode(stored, codec: h.codec, into: out) else { return nil }
            return body(UnsafeRawBufferPointer(out))
        }
    }

    /// The header and key of the record `entry` points at, when it is an unexpired value
    /// record of the entry's length whose key has the entry's hash: what a listing shows,
    /// read without the value (the checksum, which covers the value, is not checked).
    func info(_ entry: IndexEntry, in segment: Segment, now: Int64) throws(CacheError) -> EntryInfo? {
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

    /// A listing's entry for the record with header `h` and key `key`.
    static func info(_ h: RecordHeader, key: [UInt8]) -> EntryInfo {
        EntryInfo(key: key, rawLength: h.rawLength, storedLength: h.storedLength, recordLength: h.totalLength,
                  createdAt: h.createdAt, expiresAt: h.expiresAt == 0 ? nil : h.expiresAt, valueType: h.valueType)
    }
}
