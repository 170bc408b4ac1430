/// One record as an index file lists it: enough to rebuild the in-memory index without
/// reading the segment.
public struct IndexFileEntry: Sendable, Equatable {
    /// Bytes per encoded entry.
    public static let size = 25

    /// The hash of the record's key (``KeyHash``).
    public var keyHash: UInt64
    /// Where the record starts in its segment.
    public var offset: UInt32
    /// The record's length in bytes, header included.
    public var length: UInt32
    /// Milliseconds since 1970; 0 for never.
    public var expiresAt: Int64
    /// Whether the record sets a value or removes one.
    public var kind: RecordKind

    /// An entry describing one record.
    public init(keyHash: UInt64, offset: UInt32, length: UInt32, expiresAt: Int64, kind: RecordKind) {
        self.keyHash = keyHash
        self.offset = offset
        self.length = length
        self.expiresAt = expiresAt
        self.kind = kind
    }

    /// The entry of a good record found at `offset` of its segment.
    init(header h: RecordHeader, record: UnsafeRawBufferPointer, offset: Int) {
        self.init(keyHash: RecordCoding.keyHash(of: h, in: record), offset: UInt32(offset),
                  length: UInt32(h.totalLength), expiresAt: h.expiresAt, kind: h.kind)
    }

    func encode(into w: inout ByteWriter) {
        w.u64(keyHash)
        w.u32(offset)
        w.u32(length)
        w.i64(expiresAt)
        w.u8(kind.rawValue)
    }
}

/// A segment's index file (a "hint file" in Bitcask's words): a header, one entry per record
/// in log order, and a checksum over all of it (docs/format.md).
public struct IndexFile: Sendable, Equatable {
    static let magic: [UInt8] = Array("LCIX".utf8)
    /// Bytes before the first entry.
    public static let headerSize = 24

    /// The segment the file describes.
    public var segmentID: UInt32
    /// The segment length the entries cover; records past it are found by scanning.
    public var coveredLength: UInt64
    /// One entry per record, in log order.
    public var entries: [IndexFileEntry]

    /// An index file of a segment's first `coveredLength` bytes.
    public init(segmentID: UInt32, coveredLength: UInt64, entries: [IndexFileEntry]) {
        self.segmentID = segmentID
        self.coveredLength = coveredLength
        self.entries = entries
    }

    /// Why bytes are not a usable index file.
    public enum Defect: Error, Sendable, Equatable, CustomStringConvertible {
        /// The file is shorter than its header.
        case tooShort
        /// The file does not start with the index file magic.
        case badMagic
        /// The file is of a format version this build does not read.
        case unsupportedVersion(UInt32)
        /// The file's length is not the one its header's entry count gives.
        case lengthMismatch(expected: Int, actual: Int)
        /// The checksum over the file does not match.
        case checksumMismatch
        /// The entry at this position describes no record the segment can hold.
        case invalidEntry(Int)

        /// What is wrong with the index file, in one sentence.
        public var description: String {
            switch self {
            case .tooShort: "index file is shorter than its header"
            case .badMagic: "not an index file (bad magic)"
            case .unsupportedVersion(let v): "index file format version \(v) is not supported"
            case .lengthMismatch(let e, let a): "index file length \(a) does not match its entry count (expected \(e))"
            case .checksumMismatch: "index file checksum mismatch"
            case .invalidEntry(let i): "index file entry \(i) is invalid"
            }
        }
    }

    /// The encoded file with `entryBytes` (entries already encoded one after another).
    static func encode(segmentID: UInt32, coveredLength: UInt64, entryBytes: [UInt8]) -> [UInt8] {
        var w = ByteWriter(capacity: headerSize + entryBytes.count + 4)
        w.append(magic)
        w.u32(FormatVersion.current)
        w.u32(segmentID)
        w.u32(UInt32(entryBytes.count / IndexFileEntry.size))
        w.u64(coveredLength)
        w.append(entryBytes)
        w.appendChecksum()
        return w.bytes
    }

    /// The encoded file.
    public func encoded() -> [UInt8] {
        var entryBytes = ByteWriter(capacity: entries.count * IndexFileEntry.size)
        for e in entries { e.encode(into: &entryBytes) }
        return Self.encode(segmentID: segmentID, coveredLength: coveredLength, entryBytes: entryBytes.bytes)
    }

    /// Checks a whole index file (magic, version, length, checksum) without decoding its
    /// entries; returns its segment number, covered length and entry count.
    ///
    /// The entry count must agree with the file's length before anything is sized from it.
    public static func validate(_ bytes: UnsafeRawBufferPointer) -> Result<(segmentID: UInt32, coveredLength: UInt64, count: Int), Defect> {
        guard bytes.count >= headerSize + 4 else { return .failure(.tooShort) }
        guard bytes.prefix(4).elementsEqual(magic) else { return .failure(.badMagic) }
        var r = ByteReader(bytes, at: 4)
        guard let version = r.u32(), let segmentID = r.u32(), let count = r.u32(), let covered = r.u64()
        else { return .failure(.tooShort) }
        guard FormatVersion.inPlace.contains(version) else { return .failure(.unsupportedVersion(version)) }
        let expected = headerSize + Int(count) * IndexFileEntry.size + 4
        guard bytes.count == expected else { return .failure(.lengthMismatch(expected: expected, actual: bytes.count)) }
        let body = UnsafeRawBufferPointer(rebasing: bytes[0..<(bytes.count - 4)])
        let stored = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: bytes.count - 4, as: UInt32.self))
        guard CRC32C.checksum(body) == stored else { return .failure(.checksumMismatch) }
        return .success((segmentID, covered, Int(count)))
    }

    /// Visits the entries of a file that ``validate(_:)`` accepted, stopping at the first
    /// impossible one (which makes the whole file unusable).
    public static func forEachEntry(
        _ bytes: UnsafeRawBufferPointer, coveredLength covered: UInt64, count: Int, _ body: (IndexFileEntry) -> Void
    ) -> Result<Void, Defect> {
        var r = ByteReader(bytes, at: headerSize)
        for i in 0..<count {
            guard let hash = r.u64(), let offset = r.u32(), let length = r.u32(), let expires = r.i64(),
                  let kindByte = r.u8(), let kind = RecordKind(rawValue: kindByte),
                  UInt64(offset) >= UInt64(SegmentHeader.size), length >= RecordHeader.size,
                  Int(length) <= Limits.maxRecordLength,
                  UInt64(offset) + UInt64(length) <= covered, expires >= 0, expires <= Limits.latestExpiry
            else { return .failure(.invalidEntry(i)) }
            body(IndexFileEntry(keyHash: hash, offset: offset, length: length, expiresAt: expires, kind: kind))
        }
        return .success(())
    }

    /// Decodes and checks a whole index file.
    public static func decode(_ bytes: UnsafeRawBufferPointer) -> Result<IndexFile, Defect> {
        let header: (segmentID: UInt32, coveredLength: UInt64, count: Int)
        switch validate(bytes) {
        case .failure(let d): return .failure(d)
        case .success(let h): header = h
        }
        var entries: [IndexFileEntry] = []
        entries.reserveCapacity(header.count)
        if case .failure(let d) = forEachEntry(bytes, coveredLength: header.coveredLength, count: header.count, { entries.append($0) }) {
            return .failure(d)
        }
        return .success(IndexFile(segmentID: header.segmentID, coveredLength: header.coveredLength, entries: entries))
    }
}
