/// VMware vscsi block traces (the CloudPhysics format libCacheSim reads), version 1 or 2.
///
/// Little-endian records, no header. Version 1, 32 bytes: `u32 sn, u32 len, u32 nSG, u16 cmd,
/// u16 ver, u64 lbn, u64 ts`. Version 2, 40 bytes: `u16 cmd, u16 ver, u32 sn, u32 len, u32 nSG,
/// u64 lbn, u64 ts, u64 rt`. The version is the high byte of `ver`, checked on the first two
/// records (version 2's position first). A request is object `lbn` of size `len`, at time
/// `ts` microseconds (reported in seconds).
public struct VSCSITraceReader: TraceReader {
    /// The record layout in use.
    public enum Version: Int, Sendable { case v1 = 1, v2 = 2 }
    /// The detected version.
    public let version: Version
    private let input: BufferedInput
    private let name: String
    private var pending: [TraceRequest] = []
    /// The record count when the file is not compressed.
    public let knownRequestCount: Int?

    /// Detects the version from the first two records; throws when neither layout fits.
    public init(_ input: BufferedInput, name: String, uncompressedSize: Int?) throws(TraceError) {
        self.input = input
        self.name = name
        // Read two 40-byte spans' worth (80 bytes) and test both layouts on them.
        var head: [UInt8] = []
        for _ in 0..<80 {
            guard let p = try? input.record(1, what: name) else { break }
            head.append(p.load(as: UInt8.self))
        }
        func ver(_ offset: Int) -> Int? {
            guard offset + 2 <= head.count else { return nil }
            return Int(UInt16(head[offset]) | UInt16(head[offset + 1]) << 8) >> 8
        }
        if head.count >= 80, ver(2) == 2, ver(42) == 2 {
            version = .v2
        } else if head.count >= 64, ver(14) == 1, ver(46) == 1 {
            version = .v1
        } else {
            throw TraceError("\(name) is not a vscsi trace: the first two records carry no version 1 or 2 marker (or the file is shorter than two records)")
        }
        let recordSize = version == .v1 ? 32 : 40
        knownRequestCount = uncompressedSize.map { $0 / recordSize }
        // The bytes read for detection hold the first records; decode them now.
        let whole = head.count / recordSize * recordSize
        var decoded: [TraceRequest] = []
        head.withUnsafeBytes { b in
            var o = 0
            while o < whole {
                decoded.append(Self.decode(b, at: o, version))
                o += recordSize
            }
        }
        let rest = head.count - whole
        if rest > 0 {
            // Complete the partial record with the bytes that follow it.
            guard let p = try input.record(recordSize - rest, what: name) else {
                throw TraceError("\(name) is truncated: the last record has \(rest) of \(recordSize) bytes")
            }
            var record = Array(head[whole...])
            record.append(contentsOf: UnsafeRawBufferPointer(start: p, count: recordSize - rest))
            record.withUnsafeBytes { b in decoded.append(Self.decode(b, at: 0, version)) }
        }
        pending = decoded.reversed()
    }

    private static func decode(_ p: UnsafeRawBufferPointer, at o: Int, _ version: Version) -> TraceRequest {
        let len: UInt32, lbn: UInt64, ts: UInt64
        switch version {
        case .v1:
            len = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: o + 4, as: UInt32.self))
            lbn = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: o + 16, as: UInt64.self))
            ts = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: o + 24, as: UInt64.self))
        case .v2:
            len = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: o + 8, as: UInt32.self))
            lbn = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: o + 16, as: UInt64.self))
            ts = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: o + 24, as: UInt64.self))
        }
        return TraceRequest(time: Int64(ts / 1_000_000), id: lbn, size: Int(len))
    }

    public mutating func next() throws(TraceError) -> TraceRequest? {
        if let r = pending.popLast() { return r }
        let size = version == .v1 ? 32 : 40
        guard let p = try input.record(size, what: name) else { return nil }
        return Self.decode(UnsafeRawBufferPointer(start: p, count: size), at: 0, version)
    }

    public var fractionRead: Double { input.fractionRead }
    public var hasNextAccess: Bool { false }
}
