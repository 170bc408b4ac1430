import LogCache

/// A store's own recorded trace (``RecordedTrace``, its `traces/` directory) as requests to
/// replay: the key's hash as the object id, the stored size, the time in seconds since the
/// first request, and each request's next access, so that Belady runs on it too.
///
/// Gets and sets are requests; deletes are left out (a cache trace has none). A get that
/// missed takes the size of the key's next set, which is what a cache would then have
/// stored, or 0 when no set follows.
public struct RecordedTraceReader: TraceReader {
    private let requests: [TraceRequest]
    private var position = 0
    /// The files read, and those read only up to their last whole chunk.
    public let files: [String]
    public let filesEndingEarly: [String]

    /// Reads and merges the trace files in `directory`.
    public init(directory: String) throws(TraceError) {
        let trace: RecordedTrace
        do {
            trace = try RecordedTrace.load(directory: directory)
        } catch {
            throw TraceError("\(directory): \(error.description)")
        }
        guard !trace.files.isEmpty else {
            throw .usage("\(directory) holds no recorded trace files (*.lctrace); record one with Options.traceRecording or LOGCACHE_TRACE=1")
        }
        files = trace.files
        filesEndingEarly = trace.filesEndingEarly
        let kept = trace.requests.filter { $0.operation != .delete }
        let start = kept.first?.time ?? 0
        var out = [TraceRequest](repeating: TraceRequest(time: 0, id: 0, size: 0), count: kept.count)
        // Backwards: each request's next access, and the size of the next set of its key.
        var nextIndex: [UInt64: Int64] = [:]
        var nextSetSize: [UInt64: Int] = [:]
        for i in stride(from: kept.count - 1, through: 0, by: -1) {
            let r = kept[i]
            let size: Int
            switch r.operation {
            case .miss: size = nextSetSize[r.keyHash] ?? 0
            default: size = Int(r.size)
            }
            if r.operation == .set { nextSetSize[r.keyHash] = Int(r.size) }
            out[i] = TraceRequest(time: Int64((r.time &- start) / 1_000_000_000), id: r.keyHash, size: size,
                                  nextAccess: nextIndex[r.keyHash] ?? -1)
            nextIndex[r.keyHash] = Int64(i + 1)
        }
        requests = out
    }

    public mutating func next() throws(TraceError) -> TraceRequest? {
        guard position < requests.count else { return nil }
        defer { position += 1 }
        return requests[position]
    }

    public var knownRequestCount: Int? { requests.count }
    public var fractionRead: Double { requests.isEmpty ? 1 : Double(position) / Double(requests.count) }
    public var hasNextAccess: Bool { true }

    /// Every request in libCacheSim's oracleGeneral layout (24 bytes each: time u32, id u64,
    /// size u32, next access i64, little-endian), for replaying with libCacheSim itself.
    public func oracleGeneralBytes() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(requests.count * OracleGeneralRecord.size)
        for r in requests { OracleGeneralRecord.append(r, to: &out) }
        return out
    }
}

/// One request in libCacheSim's oracleGeneral layout, which ``OracleGeneralReader`` reads.
public enum OracleGeneralRecord {
    /// Bytes per request: time u32, id u64, size u32, next access i64, little-endian.
    public static let size = 24

    /// Appends `request`; a time or size beyond 32 bits is clamped, as the layout has no room.
    public static func append(_ request: TraceRequest, to out: inout [UInt8]) {
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        put(UInt32(clamping: request.time))
        put(request.id)
        put(UInt32(clamping: request.size))
        put(request.nextAccess)
    }
}
