/// The on-disk format this build reads and writes (docs/format.md).
///
/// Any change a reader of the previous version would misread bumps it; a store of a later
/// version is refused at open instead of being guessed at, and a store of an earlier one is
/// converted when it is first opened (FormatConversion).
public enum FormatVersion {
    /// The current version: 2 added the record salt (docs/format.md, "Record checksums");
    /// 3 put the append mutex in the `SHARED` page (docs/format.md, "SHARED"); 4 added six
    /// eviction policies to the manifest's policy field and the policies' ghosts and state
    /// to the `POLICY` file (docs/format.md, "POLICY"); 5 put a value type in the high four
    /// bits of each record's codec byte (docs/format.md, "Records").
    public static let current: UInt32 = 5
    /// The versions whose segment headers, records and index files this build reads in place:
    /// versions 3 and 4 changed only `SHARED`, the manifest's policy field and `POLICY`, and
    /// version 5 gave meaning to bits of the codec byte that were 0 before, so the segments
    /// of a converted version-2, 3 or 4 store stay as they are, and new ones are written as
    /// the current version.
    public static let inPlace: ClosedRange<UInt32> = 2...5
    /// The earliest version this build opens (and converts).
    public static let oldestConvertible: UInt32 = 1
}
