/// Size limits of keys and values, enforced when writing and checked again when reading,
/// before anything is allocated from a length found in a file.
public enum Limits {
    /// The longest key, in bytes: the width of the record's key-length field.
    public static let maxKeyLength = Int(UInt16.max)
    /// The largest value, in bytes, before and after compression.
    public static let maxValueLength = 256 << 20
    /// The largest whole record: header, longest key, largest value.
    static let maxRecordLength = RecordHeader.size + maxKeyLength + maxValueLength
}

extension Limits {
    /// The latest expiry a store keeps, in milliseconds since 1970: 9999-12-31T23:59:59.999Z.
    ///
    /// A later moment is refused when it is set (``CacheError/invalidOption(_:)``), and read
    /// from a file it makes the record, index file or manifest damaged. The bound keeps every
    /// expiry and every `now + TTL` far from the ends of `Int64`, so no sum with it overflows.
    public static let latestExpiry: Int64 = 253_402_300_799_999
}
