/// The 24 bytes at the start of every segment file: which store format, which segment, and
/// the store's record salt.
///
/// A segment copied or renamed into the wrong place is caught here instead of being read
/// as if its records belonged to another segment number. The salt is kept here as well as
/// in the manifest so that repair can check the records of a store whose manifest is lost.
public struct SegmentHeader: Sendable, Equatable {
    /// Bytes in the encoded header; the first record starts here.
    public static let size = 24
    /// Bytes in a format-version-1 header, which had no salt.
    static let versionOneSize = 16
    static let magic: [UInt8] = Array("LCSG".utf8)

    /// The format version the segment was written in.
    public var formatVersion: UInt32
    /// The segment's number, which its file name repeats.
    public var segmentID: UInt32
    /// The salt of the store the segment belongs to; `.versionOne` in a version-1 header.
    public var salt: RecordSalt

    /// The header of segment `segmentID` of the store with `salt`.
    public init(segmentID: UInt32, salt: RecordSalt, formatVersion: UInt32 = FormatVersion.current) {
        self.segmentID = segmentID
        self.salt = salt
        self.formatVersion = formatVersion
    }

    /// The encoded header (always of the current version).
    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: Self.size)
        w.append(Self.magic)
        w.u32(FormatVersion.current)
        w.u32(segmentID)
        w.u64(salt.value)
        w.appendChecksum()
        return w.bytes
    }

    /// Decodes and checks a header; nil when the bytes are not one.
    ///
    /// A version-1 header (16 bytes, no salt) is decoded too, for the conversion of such a
    /// store; every other version is read in the current layout, whose checksum then fails
    /// unless it really is one.
    public static func decode(_ bytes: UnsafeRawBufferPointer) -> SegmentHeader? {
        guard bytes.count >= versionOneSize, bytes.prefix(4).elementsEqual(magic) else { return nil }
        var r = ByteReader(bytes, at: 4)
        guard let version = r.u32(), let id = r.u32() else { return nil }
        if version == 1 {
            guard let crc = r.u32(), crc == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<12])) else {
                return nil
            }
            return SegmentHeader(segmentID: id, salt: .versionOne, formatVersion: version)
        }
        guard bytes.count >= size, let salt = r.u64(), let crc = r.u32(),
              crc == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<20]))
        else { return nil }
        return SegmentHeader(segmentID: id, salt: RecordSalt(salt), formatVersion: version)
    }

    /// Why the first bytes of a segment file are not the header of segment `id` of the store
    /// salted with `salt`.
    public enum Mismatch: Sendable, Equatable, CustomStringConvertible {
        /// Bad magic or checksum.
        case damaged
        /// A header of another format version.
        case formatVersion(UInt32)
        /// The header of another segment: a file copied or renamed into the wrong place.
        case segment(found: UInt32, expected: UInt32)
        /// The header of another store's segment, whose records would all fail their
        /// checksums here.
        case salt

        /// How the header differs from the one expected, in one sentence.
        public var description: String {
            switch self {
            case .damaged: "segment header is damaged (bad magic or checksum)"
            case .formatVersion(let v): "segment header says format version \(v), not \(FormatVersion.inPlace.lowerBound) to \(FormatVersion.current)"
            case .segment(let found, let expected): "segment header says segment \(found), not \(expected)"
            case .salt: "segment header's salt is not the store's (a segment of another store)"
            }
        }
    }

    /// Checks that `bytes` begin with the current-version header of segment `id` of the store
    /// salted with `salt`; nil when they do. Opening and fsck judge a header the same way here.
    public static func check(_ bytes: UnsafeRawBufferPointer, segmentID id: UInt32, salt: RecordSalt) -> Mismatch? {
        guard let h = decode(bytes) else { return .damaged }
        if !FormatVersion.inPlace.contains(h.formatVersion) { return .formatVersion(h.formatVersion) }
        if h.segmentID != id { return .segment(found: h.segmentID, expected: id) }
        if h.salt != salt { return .salt }
        return nil
    }

    /// Where the first record of a segment with this header starts.
    public var recordsStart: Int { formatVersion == 1 ? Self.versionOneSize : Self.size }
}
