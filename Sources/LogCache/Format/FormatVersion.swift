/// The on-disk format this build reads and writes (docs/format.md).
///
/// Any change a reader of the previous version would misread bumps it; a store of a later
/// version is refused at open instead of being guessed at, and a store of an earlier one is
/// converted when it is first opened (FormatConversion).
public enum FormatVersion {
    /// The current version: 2 added the record salt (docs/format.md, "Record checksums").
    public static let current: UInt32 = 2
    /// The earliest version this build opens (and converts).
    public static let oldestConvertible: UInt32 = 1
}
