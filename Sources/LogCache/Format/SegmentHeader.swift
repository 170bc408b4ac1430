/// The 16 bytes at the start of every segment file: which store format and which segment.
///
/// A segment copied or renamed into the wrong place is caught here instead of being read
/// as if its records belonged to another segment number.
public struct SegmentHeader: Sendable, Equatable {
    /// Bytes in the encoded header; the first record starts here.
    public static let size = 16
    static let magic: [UInt8] = Array("LCSG".utf8)

    public var formatVersion: UInt32
    public var segmentID: UInt32

    public init(segmentID: UInt32, formatVersion: UInt32 = FormatVersion.current) {
        self.segmentID = segmentID
        self.formatVersion = formatVersion
    }

    /// The encoded header.
    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: Self.size)
        w.append(Self.magic)
        w.u32(formatVersion)
        w.u32(segmentID)
        w.appendChecksum()
        return w.bytes
    }

    /// Decodes and checks a header; nil when the bytes are not one.
    public static func decode(_ bytes: UnsafeRawBufferPointer) -> SegmentHeader? {
        guard bytes.count >= size, bytes.prefix(4).elementsEqual(magic) else { return nil }
        var r = ByteReader(bytes, at: 4)
        guard let version = r.u32(), let id = r.u32(), let crc = r.u32(),
              crc == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<12]))
        else { return nil }
        return SegmentHeader(segmentID: id, formatVersion: version)
    }
}
