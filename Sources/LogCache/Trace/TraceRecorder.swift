import CZstd
#if canImport(Glibc)
import Glibc
#endif

/// Writes one handle's requests to its process's file in `traces/` (docs/format.md,
/// "traces/"). Requests gather in memory and go out as one compressed, checksummed chunk
/// each ``TraceRecording/chunkRequests``; a file past ``TraceRecording/fileBytes`` is
/// finished and a new one begun, and then the oldest files go until all fit
/// ``TraceRecording/maxBytes``.
///
/// Recording never fails a store operation: a file that cannot be created or written (a
/// full disk, say) stops this handle's recording, and ``failure`` says why.
final class TraceRecorder: Sendable {
    static let directoryName = "traces"
    static let fileSuffix = ".lctrace"

    private let directory: String
    private let settings: TraceRecording
    private let state: Lock<State>

    private struct State: @unchecked Sendable {
        /// The chunk being filled: its count's 4 bytes, then the requests, encoded as they come.
        var content: UnsafeMutableRawBufferPointer
        var count = 0
        /// The zstd context every chunk is compressed with (made once: making one per chunk
        /// would allocate its tables each time).
        var context: OpaquePointer?
        var file: File?
        var offset = 0
        var stopped = false
        var failure: CacheError?
    }

    /// A recorder into `storeDirectory/traces/`, created if missing; when it cannot be, the
    /// recorder starts stopped, with ``failure`` saying why.
    init(storeDirectory: String, settings: TraceRecording) {
        directory = storeDirectory + "/" + Self.directoryName
        self.settings = settings
        var s = State(content: .allocate(byteCount: 4 + settings.chunkRequests * TraceChunk.requestSize, alignment: 8),
                      context: ZSTD_createCCtx())
        if mkdir(directory, 0o700) != 0 && errno != EEXIST {
            s.failure = .io(operation: "mkdir", path: directory, errno: errno)
            s.stopped = true
        } else if s.context == nil {
            s.failure = .io(operation: "create a zstd context for the trace", path: directory, errno: ENOMEM)
            s.stopped = true
        }
        state = Lock(s)
    }

    deinit {
        state.withLock { s in
            s.content.deallocate()
            if let c = s.context { ZSTD_freeCCtx(c) }
        }
    }

    /// Why recording stopped, if it did.
    var failure: CacheError? { state.withLock { $0.failure } }

    /// The monotonic clock requests are stamped with.
    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// Records one request.
    func record(_ operation: RecordedRequest.Operation, keyHash: UInt64, size: Int) {
        let request = RecordedRequest(time: Self.now(), keyHash: keyHash, operation: operation,
                                      size: UInt32(clamping: size))
        state.withLock { s in
            guard !s.stopped else { return }
            TraceChunk.put(request, at: s.count, in: s.content)
            s.count += 1
            if s.count >= settings.chunkRequests { flush(&s) }
        }
    }

    /// Writes what is held and closes the file (at the handle's close).
    func close() {
        state.withLock { s in
            flush(&s)
            if let file = s.file { try? file.sync() }
            s.file = nil
            s.stopped = true
        }
    }

    private func flush(_ s: inout State) {
        guard s.count > 0, !s.stopped, let context = s.context else { return }
        do throws(CacheError) {
            if s.file == nil {
                let name = "\(getpid())-\(Self.now())\(Self.fileSuffix)"
                let file = try File.open(directory + "/" + name, flags: O_WRONLY | O_CREAT | O_EXCL)
                try file.write(TraceChunk.fileHeader(pid: UInt32(truncatingIfNeeded: getpid())), at: 0)
                s.file = file
                s.offset = TraceChunk.fileHeaderSize
            }
            guard let chunk = TraceChunk.encode(count: s.count, content: s.content, context: context), let file = s.file else {
                throw .io(operation: "compress the trace", path: directory, errno: EINVAL)
            }
            try file.write(chunk, at: s.offset)
            s.offset += chunk.count
            s.count = 0
            if s.offset >= settings.fileBytes {
                s.file = nil
                trimOldest()
            }
        } catch {
            s.failure = error
            s.stopped = true
            s.count = 0
            s.file = nil
        }
    }

    /// Removes the oldest finished files (by the time in their names) until all fit.
    private func trimOldest() {
        let dir = Directory(path: directory)
        guard let names = try? dir.names() else { return }
        var files: [(name: String, time: UInt64, size: Int)] = []
        for name in names where name.hasSuffix(Self.fileSuffix) {
            guard let time = name.dropLast(Self.fileSuffix.count).split(separator: "-").last.flatMap({ UInt64($0) }),
                  let size = dir.fileSize(name)
            else { continue }
            files.append((name, time, size))
        }
        files.sort { $0.time < $1.time }
        var total = files.reduce(0) { $0 &+ $1.size }
        for f in files where total > settings.maxBytes {
            if (try? dir.remove(f.name)) != nil { total -= f.size }
        }
    }
}
