/// What a record says about its key.
public enum RecordKind: UInt8, Sendable {
    /// The key has this value from now on.
    case value = 1
    /// The key was removed; the record has no value bytes.
    case tombstone = 2
    /// The key was evicted to keep the store within its capacity. The key field holds the
    /// 8-byte key hash (little-endian) instead of the key, which the in-memory index does not keep.
    case eviction = 3
}

/// How a record's value bytes are stored.
public enum RecordCodec: UInt8, Sendable, CustomStringConvertible {
    /// The value bytes as given.
    case none = 0
    /// An LZ4 block.
    case lz4 = 1
    /// A zstd frame.
    case zstd = 2

    /// The codec's name as `cachectl` prints it.
    public var description: String {
        switch self {
        case .none: "none"
        case .lz4: "lz4"
        case .zstd: "zstd"
        }
    }
}

/// What a value's bytes are, as the writer said: kept in each value record (the high four
/// bits of the header's codec byte, docs/format.md) so that a reader in another language
/// gets back the kind of value it wrote, while every reader, `cachectl` included, sees the
/// same bytes. A store never interprets them; a reader that does not know a type reads
/// the bytes.
public enum ValueType: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// Plain bytes: what every value written without a type is, and every value of a store
    /// made before format version 5.
    case bytes = 0
    /// UTF-8 text.
    case text = 1
    /// JSON text (UTF-8).
    case json = 2
    /// A Python pickle: decoding it runs code, so only a reader that asked for pickles
    /// decodes it; every other reader sees its bytes.
    case pickle = 3

    /// The type's name as `cachectl export` writes it: bytes, text, json or pickle.
    public var description: String {
        switch self {
        case .bytes: "bytes"
        case .text: "text"
        case .json: "json"
        case .pickle: "pickle"
        }
    }
}

/// The fixed 32-byte header in front of every record's key and value (docs/format.md).
public struct RecordHeader: Sendable, Equatable {
    /// Bytes in the encoded header.
    public static let size = 32

    /// Whether the record sets a value or removes one.
    public var kind: RecordKind
    /// How the stored value is compressed.
    public var codec: RecordCodec
    /// What the value's bytes are (``ValueType/bytes`` for tombstones and evictions).
    public var valueType: ValueType = .bytes
    /// The key's length in bytes.
    public var keyLength: Int
    /// Value bytes as stored (after compression).
    public var storedLength: Int
    /// Value bytes once decompressed.
    public var rawLength: Int
    /// Milliseconds since 1970 when the record was written.
    public var createdAt: Int64
    /// Milliseconds since 1970 after which the value is gone; 0 for never.
    public var expiresAt: Int64

    /// Header, key and stored value together.
    public var totalLength: Int { Self.size + keyLength + storedLength }

    /// Whether the record's value is gone at `now` (milliseconds since 1970).
    public func isExpired(at now: Int64) -> Bool { expiresAt != 0 && expiresAt <= now }
}

/// Why bytes at a position are not a good record.
public enum RecordDefect: Error, Sendable, Equatable, CustomStringConvertible {
    /// Fewer bytes remain than the header or its lengths need: a torn write at the tail.
    case truncated
    /// A header field holds a value no writer produces.
    case invalidField(String)
    /// The stored checksum does not match the bytes.
    case checksumMismatch

    /// What is wrong with the record, in one sentence.
    public var description: String {
        switch self {
        case .truncated: "record is cut short"
        case .invalidField(let f): "invalid record header field: \(f)"
        case .checksumMismatch: "record checksum mismatch"
        }
    }
}

/// Encodes and decodes records; pure functions of bytes, no I/O.
public enum RecordCoding {
    /// Writes the header fields (all but the checksum) at the start of `p`.
    static func writeHeader(
        _ p: UnsafeMutableRawPointer, kind: RecordKind, codec: RecordCodec, valueType: ValueType = .bytes,
        keyLength: Int, storedLength: Int, rawLength: Int, createdAt: Int64, expiresAt: Int64
    ) {
        p.storeBytes(of: UInt32(0), toByteOffset: 0, as: UInt32.self)
        p.storeBytes(of: kind.rawValue, toByteOffset: 4, as: UInt8.self)
        p.storeBytes(of: codec.rawValue | valueType.rawValue << 4, toByteOffset: 5, as: UInt8.self)
        p.storeBytes(of: UInt16(keyLength).littleEndian, toByteOffset: 6, as: UInt16.self)
        p.storeBytes(of: UInt32(storedLength).littleEndian, toByteOffset: 8, as: UInt32.self)
        p.storeBytes(of: UInt32(rawLength).littleEndian, toByteOffset: 12, as: UInt32.self)
        p.storeBytes(of: createdAt.littleEndian, toByteOffset: 16, as: Int64.self)
        p.storeBytes(of: expiresAt.littleEndian, toByteOffset: 24, as: Int64.self)
    }

    /// The checksum of a record's bytes after its checksum field, salted with the store's salt.
    static func checksum(_ afterChecksum: UnsafeRawBufferPointer, salt: RecordSalt) -> UInt32 {
        CRC32C.update(salt.seed, afterChecksum)
    }

    /// Stores the checksum of a complete record in its first four bytes.
    static func writeChecksum(_ record: UnsafeMutableRawBufferPointer, salt: RecordSalt) {
        let crc = checksum(UnsafeRawBufferPointer(rebasing: record[4...]), salt: salt)
        record.storeBytes(of: crc.littleEndian, toByteOffset: 0, as: UInt32.self)
    }

    /// A whole record whose value is stored as given (`codec` says how it was already encoded,
    /// `valueType` what the decoded bytes are).
    public static func encode(
        kind: RecordKind, codec: RecordCodec, valueType: ValueType = .bytes, key: UnsafeRawBufferPointer,
        stored: UnsafeRawBufferPointer, rawLength: Int, createdAt: Int64, expiresAt: Int64, salt: RecordSalt
    ) -> [UInt8] {
        let total = RecordHeader.size + key.count + stored.count
        return [UInt8](unsafeUninitializedCapacity: total) { buf, count in
            let raw = UnsafeMutableRawBufferPointer(buf)
            writeHeader(raw.baseAddress!, kind: kind, codec: codec, valueType: valueType, keyLength: key.count,
                        storedLength: stored.count, rawLength: rawLength, createdAt: createdAt, expiresAt: expiresAt)
            if !key.isEmpty { (raw.baseAddress! + RecordHeader.size).copyMemory(from: key.baseAddress!, byteCount: key.count) }
            if !stored.isEmpty {
                (raw.baseAddress! + RecordHeader.size + key.count).copyMemory(from: stored.baseAddress!, byteCount: stored.count)
            }
            writeChecksum(UnsafeMutableRawBufferPointer(rebasing: raw[0..<total]), salt: salt)
            count = total
        }
    }

    /// Reads and checks the header at the start of `bytes` without looking at the checksum.
    ///
    /// Every length is checked against ``Limits`` and against the other fields, so a damaged
    /// header is caught here rather than by an allocation of its claimed size.
    public static func decodeHeader(_ bytes: UnsafeRawBufferPointer) -> Result<RecordHeader, RecordDefect> {
        var r = ByteReader(bytes)
        guard r.u32() != nil, let kindByte = r.u8(), let codecByte = r.u8(), let keyLength = r.u16(),
              let stored = r.u32(), let raw = r.u32(), let created = r.i64(), let expires = r.i64()
        else { return .failure(.truncated) }
        guard let kind = RecordKind(rawValue: kindByte) else { return .failure(.invalidField("kind \(kindByte)")) }
        // The low four bits are the codec, the high four the value type (format version 5;
        // before it they were 0, which reads as plain bytes).
        guard let codec = RecordCodec(rawValue: codecByte & 0x0F) else { return .failure(.invalidField("codec \(codecByte & 0x0F)")) }
        guard let valueType = ValueType(rawValue: codecByte >> 4) else {
            return .failure(.invalidField("value type \(codecByte >> 4)"))
        }
        guard keyLength > 0 else { return .failure(.invalidField("key length 0")) }
        guard Int(raw) <= Limits.maxValueLength, Int(stored) <= Int(raw) else {
            return .failure(.invalidField("value lengths \(stored)/\(raw)"))
        }
        if codec == .none, stored != raw { return .failure(.invalidField("uncompressed lengths differ")) }
        if kind != .value, stored != 0 || raw != 0 || codec != .none || valueType != .bytes {
            return .failure(.invalidField("tombstone with a value"))
        }
        if kind == .eviction, keyLength != 8 { return .failure(.invalidField("eviction key length \(keyLength)")) }
        guard expires >= 0, expires <= Limits.latestExpiry else { return .failure(.invalidField("expiry \(expires)")) }
        return .success(RecordHeader(
            kind: kind, codec: codec, valueType: valueType, keyLength: Int(keyLength), storedLength: Int(stored),
            rawLength: Int(raw), createdAt: created, expiresAt: expires))
    }

    /// Decodes the header of the whole record in `bytes` and verifies its checksum, salted
    /// with the salt of the store the record belongs to.
    public static func decode(_ bytes: UnsafeRawBufferPointer, salt: RecordSalt) -> Result<RecordHeader, RecordDefect> {
        let header: RecordHeader
        switch decodeHeader(bytes) {
        case .failure(let d): return .failure(d)
        case .success(let h): header = h
        }
        guard bytes.count >= header.totalLength else { return .failure(.truncated) }
        guard checksumMatches(bytes, header, salt: salt) else { return .failure(.checksumMismatch) }
        return .success(header)
    }

    /// Whether the record in `bytes`, whose header (decoded already) is `header` and which
    /// holds at least `header.totalLength` bytes, carries the checksum of its bytes salted
    /// with `salt`.
    static func checksumMatches(_ bytes: UnsafeRawBufferPointer, _ header: RecordHeader, salt: RecordSalt) -> Bool {
        let stored = bytes.loadUnaligned(as: UInt32.self)
        return UInt32(littleEndian: stored) == checksum(UnsafeRawBufferPointer(rebasing: bytes[4..<header.totalLength]), salt: salt)
    }

    /// The header of `bytes` when they are exactly one good value record: what an index
    /// entry must point at. Nil means the record there is damaged (or not a value).
    public static func valueRecord(_ bytes: UnsafeRawBufferPointer, salt: RecordSalt) -> RecordHeader? {
        guard case .success(let h) = decode(bytes, salt: salt), h.totalLength == bytes.count, h.kind == .value else {
            return nil
        }
        return h
    }

    /// The key bytes of a decoded record.
    public static func key(of header: RecordHeader, in bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[RecordHeader.size..<(RecordHeader.size + header.keyLength)])
    }

    /// The key hash a decoded record stands for: the hash of its key, or for an eviction
    /// record the hash it carries.
    public static func keyHash(of header: RecordHeader, in bytes: UnsafeRawBufferPointer) -> UInt64 {
        let key = self.key(of: header, in: bytes)
        if header.kind == .eviction { return UInt64(littleEndian: key.loadUnaligned(as: UInt64.self)) }
        return KeyHash.hash(key)
    }

    /// An eviction record for the key with `keyHash`.
    static func eviction(keyHash: UInt64, at time: Int64, salt: RecordSalt) -> [UInt8] {
        withUnsafeBytes(of: keyHash.littleEndian) { k in
            encode(kind: .eviction, codec: .none, key: k, stored: UnsafeRawBufferPointer(start: nil, count: 0),
                   rawLength: 0, createdAt: time, expiresAt: 0, salt: salt)
        }
    }

    /// Gives a good record of one store the checksum it would have in a store salted with
    /// `salt`; its other bytes stay as they are.
    static func reseal(_ record: inout [UInt8], salt: RecordSalt) {
        record.withUnsafeMutableBytes { writeChecksum($0, salt: salt) }
    }

    /// The stored value bytes of a decoded record.
    public static func storedValue(of header: RecordHeader, in bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        let start = RecordHeader.size + header.keyLength
        return UnsafeRawBufferPointer(rebasing: bytes[start..<(start + header.storedLength)])
    }
}
