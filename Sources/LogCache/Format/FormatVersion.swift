/// The on-disk format this build reads and writes (docs/format.md).
///
/// Any change a reader of the previous version would misread bumps it; a store of another
/// version is refused at open instead of being guessed at.
public enum FormatVersion {
    /// The current version.
    public static let current: UInt32 = 1
}
