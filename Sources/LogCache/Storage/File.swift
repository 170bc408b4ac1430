#if canImport(Glibc)
import Glibc
#endif

/// An open file descriptor with positional reads and writes that report failures as ``CacheError``.
///
/// Positional I/O (`pread`/`pwrite`) lets many threads read one file at once without sharing
/// a file offset. The descriptor closes when the last reference goes, so a reader holding
/// a segment keeps it readable even after compaction unlinks it.
final class File: @unchecked Sendable {
    let fd: Int32
    let path: String

    private init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    deinit { _ = Glibc.close(fd) }

    /// Opens `path` with `flags`; new files get `mode` (0600: the store is private to its owner).
    ///
    /// Every file of a store is a regular file in the store directory. A symbolic link in a
    /// file's place is never followed (so a hostile directory cannot have the store write,
    /// truncate or create a file elsewhere), and a FIFO or device is refused instead of
    /// blocking or being read.
    static func open(_ path: String, flags: Int32, mode: mode_t = 0o600) throws(CacheError) -> File {
        let fd = retryingEINTR { Glibc.open(path, flags | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, mode) }
        guard fd >= 0 else {
            let e = errno
            if e == ELOOP { throw .corruptStore(path: path, detail: "a symbolic link stands in place of a store file (links are never followed)") }
            throw .io(operation: "open", path: path, errno: e)
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let e = errno
            _ = Glibc.close(fd)
            throw .io(operation: "stat", path: path, errno: e)
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            _ = Glibc.close(fd)
            throw .corruptStore(path: path, detail: "not a regular file")
        }
        return File(fd: fd, path: path)
    }

    /// The file's current length.
    func size() throws(CacheError) -> Int {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .io(operation: "stat", path: path, errno: errno) }
        return Int(st.st_size)
    }

    /// Reads exactly `buffer.count` bytes at `offset`; returns fewer only at the end of the file.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(CacheError) -> Int {
        guard let base = buffer.baseAddress else { return 0 }
        return try repeating("read", count: buffer.count) { done in
            pread(fd, base + done, buffer.count - done, off_t(offset + done))
        }
    }

    /// Calls `step` with the bytes done so far until `count` are done or it returns 0 (the end
    /// of the file); retries a call interrupted by a signal, throws on any other failure.
    private func repeating(_ operation: String, count: Int, _ step: (Int) -> Int) throws(CacheError) -> Int {
        var done = 0
        while done < count {
            let n = step(done)
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(operation: operation, path: path, errno: errno)
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// `count` bytes at `offset`, or fewer at the end of the file.
    func read(count: Int, at offset: Int) throws(CacheError) -> [UInt8] {
        var failure: CacheError?
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buf, n in
            do throws(CacheError) { n = try read(into: UnsafeMutableRawBufferPointer(buf), at: offset) } catch { failure = error; n = 0 }
        }
        if let failure { throw failure }
        return bytes
    }

    /// The whole file.
    func readAll() throws(CacheError) -> [UInt8] { try read(count: size(), at: 0) }

    /// Writes all of `bytes` at `offset`.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(CacheError) {
        guard let base = bytes.baseAddress else { return }
        let done = try repeating("write", count: bytes.count) { done in
            pwrite(fd, base + done, bytes.count - done, off_t(offset + done))
        }
        // A write that makes no progress and reports no error: the disk took nothing more.
        guard done == bytes.count else { throw .io(operation: "write", path: path, errno: ENOSPC) }
    }

    /// Writes all of `bytes` at `offset`.
    func write(_ bytes: [UInt8], at offset: Int) throws(CacheError) {
        var failure: CacheError?
        bytes.withUnsafeBytes { b in
            do throws(CacheError) { try write(b, at: offset) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Flushes the file's data to the device.
    func sync() throws(CacheError) {
        guard retryingEINTR({ fdatasync(fd) }) == 0 else { throw .io(operation: "fsync", path: path, errno: errno) }
    }

    /// Cuts or extends the file to `length` bytes.
    func truncate(to length: Int) throws(CacheError) {
        guard retryingEINTR({ ftruncate(fd, off_t(length)) }) == 0 else {
            throw .io(operation: "truncate", path: path, errno: errno)
        }
    }
}

/// Repeats a system call interrupted by a signal.
@inline(__always)
func retryingEINTR(_ call: () -> Int32) -> Int32 {
    while true {
        let r = call()
        if r == -1 && errno == EINTR { continue }
        return r
    }
}
