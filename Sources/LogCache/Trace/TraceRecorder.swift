import CZstd
import Dispatch
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
/// full disk, say) stops this handle's recording, and ``failure`` says why (once the
/// background writer has met it: chunks are compressed and written off the recording threads).
final class TraceRecorder: Sendable {
    static let directoryName = "traces"
    static let fileSuffix = ".lctrace"

    private let directory: String
    private let settings: TraceRecording
    /// What the recording threads touch: the chunk being filled. Held for a few stores per
    /// request; a full chunk is handed to the writer, not compressed here.
    private let state: Lock<State>
    /// Compresses and writes full chunks, in order, off the threads that record (a get must
    /// not wait for zstd). The file, its offset and the zstd context are the writer's alone.
    private let writer = DispatchQueue(label: "logcache.trace-writer")
    private let output: Lock<Output>

    private struct State: @unchecked Sendable {
        /// The chunk being filled: its count's 4 bytes, then the requests, encoded as they come.
        var content: UnsafeMutableRawBufferPointer
        var count = 0
        /// A chunk buffer the writer has finished with, ready to fill; nil while the writer
        /// still holds it (then a full chunk waits for it: memory stays at two chunks).
        var spare: UnsafeMutableRawBufferPointer?
        var stopped = false
        var failure: CacheError?
    }

    /// A full chunk on its way to the writer (unchecked: the buffer belongs to the writer
    /// until it hands it back as the spare).
    private struct FullChunk: @unchecked Sendable {
        let buffer: UnsafeMutableRawBufferPointer
        let count: Int
    }

    private struct Output: @unchecked Sendable {
        /// The zstd context every chunk is compressed with (made once: making one per chunk
        /// would allocate its tables each time).
        var context: OpaquePointer?
        var file: File?
        var offset = 0
    }

    /// A recorder into `storeDirectory/traces/`, created if missing; when it cannot be, the
    /// recorder starts stopped, with ``failure`` saying why.
    init(storeDirectory: String, settings: TraceRecording) {
        directory = storeDirectory + "/" + Self.directoryName
        self.settings = settings
        let bytes = 4 + settings.chunkRequests * TraceChunk.requestSize
        var s = State(content: .allocate(byteCount: bytes, alignment: 8), spare: .allocate(byteCount: bytes, alignment: 8))
        let context = ZSTD_createCCtx()
        var st = stat()
        if mkdir(directory, 0o700) != 0 && errno != EEXIST {
            s.failure = .io(operation: "mkdir", path: directory, errno: errno)
            s.stopped = true
        } else if stat(directory, &st) != 0 || (st.st_mode & S_IFMT) != S_IFDIR {
            s.failure = .io(operation: "record a trace in", path: directory, errno: ENOTDIR)
            s.stopped = true
        } else if context == nil {
            s.failure = .io(operation: "create a zstd context for the trace", path: directory, errno: ENOMEM)
            s.stopped = true
        }
        state = Lock(s)
        output = Lock(Output(context: context))
    }

    deinit {
        // Every chunk handed to the writer holds a reference to self until written, so none
        // is in flight here.
        state.withLock { s in
            s.content.deallocate()
            s.spare?.deallocate()
        }
        output.withLock { o in if let c = o.context { ZSTD_freeCCtx(c) } }
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
        while true {
            var full: FullChunk?
            let stored = state.withLock { s -> Bool in
                guard !s.stopped else { return true }
                guard s.count < settings.chunkRequests else { return false }
                TraceChunk.put(request, at: s.count, in: s.content)
                s.count += 1
                full = takeFull(&s)
                return true
            }
            if let full { writer.async { self.write(full.buffer, count: full.count) } }
            if stored { return }
            // Full, and the writer still has the other buffer: wait for it to give it back.
            writer.sync {}
            if let freed = state.withLock({ s in s.stopped ? nil : takeFull(&s) }) {
                writer.async { self.write(freed.buffer, count: freed.count) }
            }
        }
    }

    /// The chunk being filled, if it is full and the spare can take its place.
    private func takeFull(_ s: inout State) -> FullChunk? {
        guard s.count >= settings.chunkRequests, let spare = s.spare else { return nil }
        defer { s.content = spare; s.spare = nil; s.count = 0 }
        return FullChunk(buffer: s.content, count: s.count)
    }

    /// Writes what is held and closes the file (at the handle's close), after every chunk
    /// already queued.
    func close() {
        writer.sync {}
        let rest = state.withLock { s -> FullChunk? in
            defer { s.stopped = true }
            guard !s.stopped, s.count > 0 else { return nil }
            let r = FullChunk(buffer: s.content, count: s.count)
            s.count = 0
            return r
        }
        writer.sync {
            if let rest { write(rest.buffer, count: rest.count, returning: false) }
            output.withLock { o in
                if let file = o.file { try? file.sync() }
                o.file = nil
            }
        }
    }

    /// The writer's part: compresses `count` requests of `buffer` into a chunk and appends it,
    /// then gives the buffer back as the spare (unless `returning` is false: it is the one
    /// being filled).
    private func write(_ buffer: UnsafeMutableRawBufferPointer, count: Int, returning: Bool = true) {
        let failure = output.withLock { o -> CacheError? in
            guard let context = o.context else { return nil }
            do throws(CacheError) {
                if o.file == nil {
                    let name = "\(getpid())-\(Self.now())\(Self.fileSuffix)"
                    let file = try File.open(directory + "/" + name, flags: O_WRONLY | O_CREAT | O_EXCL)
                    try file.write(TraceChunk.fileHeader(pid: UInt32(truncatingIfNeeded: getpid())), at: 0)
                    o.file = file
                    o.offset = TraceChunk.fileHeaderSize
                }
                guard let chunk = TraceChunk.encode(count: count, content: buffer, context: context), let file = o.file else {
                    throw .io(operation: "compress the trace", path: directory, errno: EINVAL)
                }
                try file.write(chunk, at: o.offset)
                o.offset += chunk.count
                if o.offset >= settings.fileBytes {
                    o.file = nil
                    trimOldest()
                }
                return nil
            } catch {
                o.file = nil
                return error
            }
        }
        state.withLock { s in
            if returning { s.spare = buffer }
            if let failure, s.failure == nil {
                s.failure = failure
                s.stopped = true
                s.count = 0
            }
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
