/// The store's secret that every record checksum starts from (docs/format.md, "Record
/// checksums").
///
/// A value stored raw (one that does not compress: random bytes, an image, a compressed
/// blob) may contain the bytes of a complete record. If a write of that value is torn, or
/// a page in its middle never reaches the disk, the scan that looks for the next good
/// record walks through the value's bytes. Without a secret, a record planted there would
/// check out and be served as if it had been written. With one, bytes a user wrote, or a
/// record copied from another store, pass the checksum only by the same 1 in 2^32 chance
/// as random damage: the writer of the value never learns the salt.
public struct RecordSalt: Sendable, Equatable, CustomStringConvertible {
    /// The 64-bit salt as kept in the manifest and in every segment header.
    public let value: UInt64
    /// CRC-32C of the salt's eight little-endian bytes: a record's checksum continues from
    /// this state, so salting costs nothing per record.
    let seed: UInt32

    /// The salt kept in a store's files.
    public init(_ value: UInt64) {
        self.value = value
        seed = withUnsafeBytes(of: value.littleEndian) { CRC32C.checksum($0) }
    }

    private init(value: UInt64, seed: UInt32) {
        self.value = value
        self.seed = seed
    }

    /// A new salt for a new store, from the system's secure random source.
    public static func random() -> RecordSalt {
        var g = SystemRandomNumberGenerator()
        return RecordSalt(g.next())
    }

    /// Format version 1 had no salt: its record checksums start from the plain CRC-32C
    /// state. Used only to read such a store while converting it.
    public static let versionOne = RecordSalt(value: 0, seed: 0)

    /// The salt in hexadecimal, as `cachectl fsck` prints it.
    public var description: String {
        self == .versionOne ? "none (format version 1)" : "0x" + String(value, radix: 16)
    }
}
