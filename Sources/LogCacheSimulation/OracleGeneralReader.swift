/// libCacheSim's "oracleGeneral" binary traces: packed little-endian 24-byte records of
/// `u32 clock_time, u64 obj_id, u32 obj_size, i64 next_access_vtime` and no header.
public struct OracleGeneralReader: TraceReader {
    /// Bytes per record.
    public static let recordSize = 24
    private let input: BufferedInput
    private let name: String
    /// The record count when the file is not compressed (its size over 24).
    public let knownRequestCount: Int?

    /// Reads `input`; `name` names it in messages; `fileSize` is the uncompressed size if known.
    public init(_ input: BufferedInput, name: String, uncompressedSize: Int?) {
        self.input = input
        self.name = name
        knownRequestCount = uncompressedSize.map { $0 / Self.recordSize }
    }

    @inline(__always)
    public mutating func next() throws(TraceError) -> TraceRequest? {
        guard let p = try input.record(Self.recordSize, what: name) else { return nil }
        let time = UInt32(littleEndian: p.loadUnaligned(as: UInt32.self))
        let id = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 4, as: UInt64.self))
        let size = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 12, as: UInt32.self))
        let next = Int64(littleEndian: p.loadUnaligned(fromByteOffset: 16, as: Int64.self))
        return TraceRequest(time: Int64(time), id: id, size: Int(size), nextAccess: next)
    }

    public var fractionRead: Double { input.fractionRead }
    public var hasNextAccess: Bool { true }
}
