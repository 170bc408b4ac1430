#if canImport(Glibc)
import Glibc
#endif

/// Settings for recording a handle's requests (``Options/traceRecording``): every get, set
/// and delete goes, with its key's hash, size and time, into a file of its own process under
/// the store's `traces/` directory, which `cachectl bench --trace-dir` replays against every
/// policy (docs/bench.md, "Recording a store's own trace").
public struct TraceRecording: Sendable, Equatable {
    /// The most bytes of trace files kept in `traces/`, all processes together: when a file
    /// is finished and the files pass this, the oldest are removed.
    public var maxBytes: Int
    /// The size at which a process starts a new file.
    public var fileBytes: Int
    /// Requests held in memory before they are compressed and written as one chunk; a
    /// process killed loses at most these.
    public var chunkRequests: Int

    /// Recording kept within `maxBytes` (default 256 MiB) in files of up to `fileBytes`
    /// (default 16 MiB), written `chunkRequests` (default 16,384) at a time.
    public init(maxBytes: Int = 256 << 20, fileBytes: Int = 16 << 20, chunkRequests: Int = 16_384) {
        self.maxBytes = maxBytes
        self.fileBytes = fileBytes
        self.chunkRequests = chunkRequests
    }

    /// The environment variable that turns recording on for every handle a process opens
    /// without ``Options/traceRecording``: `1` (or `on`) for the defaults, or a byte count
    /// for ``maxBytes``.
    public static let environmentVariable = "LOGCACHE_TRACE"

    /// The settings `LOGCACHE_TRACE` asks for, if any.
    static func fromEnvironment() throws(CacheError) -> TraceRecording? {
        guard let raw = getenv(environmentVariable).map({ String(cString: $0) }), !raw.isEmpty, raw != "0", raw != "off" else {
            return nil
        }
        if raw == "1" || raw == "on" { return TraceRecording() }
        guard let bytes = Int(raw), bytes > 0 else {
            throw .invalidOption("\(environmentVariable)=\(raw): use 1 (or on) for the defaults, or the most bytes of trace to keep")
        }
        return TraceRecording(maxBytes: bytes, fileBytes: min(bytes, 16 << 20))
    }

    /// Checks the settings; a message names the first that is out of range.
    func validated() throws(CacheError) -> TraceRecording {
        guard maxBytes > 0, fileBytes > 0, fileBytes <= maxBytes else {
            throw .invalidOption("traceRecording: maxBytes and fileBytes must be positive, fileBytes at most maxBytes")
        }
        guard (1...TraceChunk.maxRequests).contains(chunkRequests) else {
            throw .invalidOption("traceRecording: chunkRequests must be 1 to \(TraceChunk.maxRequests)")
        }
        return self
    }
}
