/// How a store compresses the values it writes.
///
/// The choice applies to new records only: each record names its own codec, so a store can
/// hold records of several codecs and reads each one correctly.
public enum Compression: Sendable, Equatable, CustomStringConvertible {
    /// Values are stored as given.
    case none
    /// LZ4: fast, modest ratio.
    case lz4
    /// zstd at `level` (1 to 19 are sensible; 3 is zstd's own default).
    case zstd(level: Int)

    /// zstd at level 3.
    public static let zstd = Compression.zstd(level: 3)

    /// The codec this choice writes.
    public var codec: RecordCodec {
        switch self {
        case .none: .none
        case .lz4: .lz4
        case .zstd: .zstd
        }
    }

    /// The codec and level as `cachectl` prints them, such as `zstd(3)`.
    public var description: String {
        switch self {
        case .none: "none"
        case .lz4: "lz4"
        case .zstd(let level): "zstd(level: \(level))"
        }
    }
}
