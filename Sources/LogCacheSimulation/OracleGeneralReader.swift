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

    public mutating func nextBlock(into buffer: UnsafeMutableBufferPointer<TraceRequest>) throws(TraceError) -> Int {
        var n = 0
        while n < buffer.count {
            guard let (p, count) = try input.records(Self.recordSize, upTo: buffer.count - n, what: name) else { break }
            for i in 0..<count {
                let q = p + i * Self.recordSize
                buffer[n + i] = TraceRequest(
                    time: Int64(UInt32(littleEndian: q.loadUnaligned(as: UInt32.self))),
                    id: UInt64(littleEndian: q.loadUnaligned(fromByteOffset: 4, as: UInt64.self)),
                    size: Int(UInt32(littleEndian: q.loadUnaligned(fromByteOffset: 12, as: UInt32.self))),
                    nextAccess: Int64(littleEndian: q.loadUnaligned(fromByteOffset: 16, as: Int64.self)))
            }
            n += count
        }
        return n
    }

    public var fractionRead: Double { input.fractionRead }
    public var hasNextAccess: Bool { true }
}
