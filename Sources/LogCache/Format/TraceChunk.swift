import CZstd

/// One request a store's handle saw, as a recorded trace keeps it (docs/format.md, "traces/").
public struct RecordedRequest: Sendable, Equatable {
    /// What the request was.
    public enum Operation: UInt8, Sendable {
        /// A read that found a value.
        case hit = 1
        /// A read that found none.
        case miss = 2
        /// A write of a value.
        case set = 3
        /// A removal.
        case delete = 4
    }

    /// `CLOCK_MONOTONIC` in nanoseconds: one clock for every process of the machine, so that
    /// the files of several processes merge into one order.
    public var time: UInt64
    /// The key's 64-bit hash, the store's own (`KeyHash`).
    public var keyHash: UInt64
    /// What the request was.
    public var operation: Operation
    /// The record's length as stored, for a hit or a set; 0 for a miss or a delete.
    public var size: UInt32

    /// A request of `operation` on `keyHash` at `time`.
    public init(time: UInt64, keyHash: UInt64, operation: Operation, size: UInt32) {
        self.time = time
        self.keyHash = keyHash
        self.operation = operation
        self.size = size
    }
}

/// The bytes of a recorded-trace file: a header, then chunks of requests, each compressed
/// with zstd as one frame and checksummed, so that a file cut short by a killed process reads
/// up to its last whole chunk (docs/format.md, "traces/").
enum TraceChunk {
    static let fileMagic: [UInt8] = Array("LCTRACE1".utf8)
    static let fileHeaderSize = 16
    static let chunkMagic: [UInt8] = Array("LCTC".utf8)
    static let chunkHeaderSize = 12
    static let requestSize = 21
    /// The most requests one chunk holds.
    static let maxRequests = 65_536
    /// The largest compressed chunk a reader accepts: zstd's bound for the largest content.
    static var maxCompressed: Int { ZSTD_compressBound(4 + maxRequests * requestSize) }

    /// The header of a file written by process `pid`.
    static func fileHeader(pid: UInt32) -> [UInt8] {
        var w = ByteWriter(capacity: fileHeaderSize)
        w.append(fileMagic)
        w.u32(1)
        w.u32(pid)
        return w.bytes
    }

    /// Writes `request` as the `index`-th request of a chunk's content (whose first 4 bytes
    /// hold the count), which must have room for it.
    @inline(__always)
    static func put(_ request: RecordedRequest, at index: Int, in content: UnsafeMutableRawBufferPointer) {
        let at = 4 + index * requestSize
        content.storeBytes(of: request.time.littleEndian, toByteOffset: at, as: UInt64.self)
        content.storeBytes(of: request.keyHash.littleEndian, toByteOffset: at + 8, as: UInt64.self)
        content.storeBytes(of: request.operation.rawValue, toByteOffset: at + 16, as: UInt8.self)
        content.storeBytes(of: request.size.littleEndian, toByteOffset: at + 17, as: UInt32.self)
    }

    /// One chunk of the first `count` requests written into `content` with ``put(_:at:in:)``
    /// (at most ``maxRequests``), compressed with `context`; nil when zstd fails.
    static func encode(count: Int, content: UnsafeMutableRawBufferPointer, context: OpaquePointer) -> [UInt8]? {
        content.storeBytes(of: UInt32(count).littleEndian, toByteOffset: 0, as: UInt32.self)
        let raw = UnsafeRawBufferPointer(rebasing: content[0..<(4 + count * requestSize)])
        var out = [UInt8](repeating: 0, count: chunkHeaderSize + ZSTD_compressBound(raw.count))
        let n = out.withUnsafeMutableBytes { dst in
            ZSTD_compressCCtx(context, dst.baseAddress.map { $0 + chunkHeaderSize }, dst.count - chunkHeaderSize,
                              raw.baseAddress, raw.count, -3)
        }
        guard ZSTD_isError(n) == 0 else { return nil }
        out.removeSubrange((chunkHeaderSize + n)...)
        let crc = out.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[chunkHeaderSize...])) }
        out.withUnsafeMutableBytes { h in
            for i in 0..<4 { h[i] = chunkMagic[i] }
            h.storeBytes(of: UInt32(n).littleEndian, toByteOffset: 4, as: UInt32.self)
            h.storeBytes(of: crc.littleEndian, toByteOffset: 8, as: UInt32.self)
        }
        return out
    }

    /// What a file held: its requests in file order, and whether it ended in something that
    /// is not a whole chunk (a killed writer's last, or damage), where reading stopped.
    struct Decoded {
        var requests: [RecordedRequest] = []
        var endsEarly = false
    }

    /// Decodes a file; nil when it does not start with a recorded-trace header.
    static func decode(_ bytes: UnsafeRawBufferPointer) -> Decoded? {
        guard bytes.count >= fileHeaderSize, bytes.prefix(8).elementsEqual(fileMagic) else { return nil }
        var out = Decoded()
        var at = fileHeaderSize
        while at < bytes.count {
            guard let (requests, next) = chunk(bytes, at: at) else {
                out.endsEarly = true
                break
            }
            out.requests.append(contentsOf: requests)
            at = next
        }
        return out
    }

    /// The requests of the chunk at `at` and where the next one starts; nil when the bytes
    /// there are not a whole, intact chunk. Every length is checked before it is trusted.
    private static func chunk(_ bytes: UnsafeRawBufferPointer, at: Int) -> ([RecordedRequest], Int)? {
        guard bytes.count - at >= chunkHeaderSize,
              bytes[at..<(at + 4)].elementsEqual(chunkMagic) else { return nil }
        var r = ByteReader(bytes, at: at + 4)
        guard let length = r.u32(), let stored = r.u32(), Int(length) <= maxCompressed,
              Int(length) <= bytes.count - at - chunkHeaderSize else { return nil }
        let frame = UnsafeRawBufferPointer(rebasing: bytes[(at + chunkHeaderSize)..<(at + chunkHeaderSize + Int(length))])
        guard CRC32C.checksum(frame) == stored else { return nil }
        let contentSize = ZSTD_getFrameContentSize(frame.baseAddress, frame.count)
        guard contentSize >= 4, contentSize <= UInt64(4 + maxRequests * requestSize) else { return nil }
        var content = [UInt8](repeating: 0, count: Int(contentSize))
        let n = content.withUnsafeMutableBytes { ZSTD_decompress($0.baseAddress, $0.count, frame.baseAddress, frame.count) }
        guard ZSTD_isError(n) == 0, n == content.count else { return nil }
        return content.withUnsafeBytes { c -> ([RecordedRequest], Int)? in
            var cr = ByteReader(c)
            guard let count = cr.u32(), Int(count) <= maxRequests, 4 + Int(count) * requestSize == c.count else { return nil }
            var requests: [RecordedRequest] = []
            requests.reserveCapacity(Int(count))
            for _ in 0..<Int(count) {
                guard let time = cr.u64(), let hash = cr.u64(), let op = cr.u8().flatMap(RecordedRequest.Operation.init),
                      let size = cr.u32() else { return nil }
                requests.append(RecordedRequest(time: time, keyHash: hash, operation: op, size: size))
            }
            return (requests, at + chunkHeaderSize + Int(length))
        }
    }
}
