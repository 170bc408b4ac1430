#if canImport(Glibc)
import Glibc
#endif

/// The requests a store's handles recorded in its `traces/` directory, all processes'
/// files merged into one order by their monotonic time stamps.
public struct RecordedTrace: Sendable {
    /// Every request, oldest first (requests of one time keep their file's order).
    public var requests: [RecordedRequest]
    /// The files read.
    public var files: [String]
    /// Files that ended in something other than a whole chunk (a process killed while
    /// writing, or damage): each was read up to its last whole chunk.
    public var filesEndingEarly: [String]

    /// The largest trace file read: its whole contents are held in memory to decode.
    public static let maxFileBytes = 1 << 30

    /// Reads every trace file in `directory` (a store's `traces/`, or a copy of it).
    /// Throws when the directory cannot be listed, or a file cannot be read or is not a
    /// recorded trace at all.
    public static func load(directory: String) throws(CacheError) -> RecordedTrace {
        let names = try Directory(path: directory).names().filter { $0.hasSuffix(TraceRecorder.fileSuffix) }.sorted()
        var out = RecordedTrace(requests: [], files: [], filesEndingEarly: [])
        var perFile: [[RecordedRequest]] = []
        for name in names {
            let path = directory + "/" + name
            let file = try File.open(path, flags: O_RDONLY)
            let size = try file.size()
            guard size <= maxFileBytes else {
                throw .corruptStore(path: path, detail: "a trace file of \(size) bytes, more than the \(maxFileBytes) read at once")
            }
            let bytes = try file.read(count: size, at: 0)
            guard let decoded = bytes.withUnsafeBytes({ TraceChunk.decode($0) }) else {
                throw .corruptStore(path: path, detail: "not a recorded trace (no LCTRACE1 header)")
            }
            out.files.append(path)
            if decoded.endsEarly { out.filesEndingEarly.append(path) }
            perFile.append(decoded.requests)
        }
        // Each file is in time order already (one process's clock); merging them is a sort
        // that keeps ties in file order.
        out.requests = perFile.joined().enumerated().sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }.map(\.element)
        return out
    }
}
