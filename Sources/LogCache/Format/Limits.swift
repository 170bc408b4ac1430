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
