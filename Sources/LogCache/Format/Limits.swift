/// Size limits of keys and values, enforced when writing and checked again when reading,
/// before anything is allocated from a length found in a file.
public enum Limits {
    /// The longest key, in bytes: the width of the record's key-length field.
    public static let maxKeyLength = Int(UInt16.max)
    /// The largest value, in bytes, before and after compression.
    public static let maxValueLength = 256 << 20
    /// The largest whole record: header, longest key, largest value.
    static let maxRecordLength = RecordHeader.size + maxKeyLength + maxValueLength
    /// The smallest segment size a store may be created with.
    public static let minSegmentSize = 4096
    /// Bytes of a segment that record offsets (32 bits wide in index files and the index)
    /// can reach: bytes past it, which only damage makes, hold no record of the segment.
    static let segmentOffsetLimit = Int(UInt32.max)
    /// Segment numbers stay below this, so that the manifest's next segment number, one
    /// past the last, still fits in 32 bits.
    static let segmentIDLimit = UInt32.max - 1
}

extension Limits {
    /// The latest expiry a store keeps, in milliseconds since 1970: 9999-12-31T23:59:59.999Z.
    ///
    /// A later moment is refused when it is set (``CacheError/invalidOption(_:)``), and read
    /// from a file it makes the record, index file or manifest damaged. The bound keeps every
    /// expiry and every `now + TTL` far from the ends of `Int64`, so no sum with it overflows.
    public static let latestExpiry: Int64 = 253_402_300_799_999
}
