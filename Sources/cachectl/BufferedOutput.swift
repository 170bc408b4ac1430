#if canImport(Glibc)
import Glibc
#endif

/// Buffered writes to a file descriptor, for output of many small pieces (export, list).
final class BufferedOutput {
    private let fd: Int32
    private let name: String
    private let ownsDescriptor: Bool
    private var buffer: [UInt8] = []

    /// Standard output.
    static func standardOutput() -> BufferedOutput { BufferedOutput(fd: 1, name: "standard output", owns: false) }

    private init(fd: Int32, name: String, owns: Bool) {
        self.fd = fd
        self.name = name
        ownsDescriptor = owns
        buffer.reserveCapacity(1 << 16)
    }

    /// Creates (or empties) the file at `path`.
    convenience init(creating path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw CommandFailure(message: "cannot create \(path): \(String(cString: strerror(errno)))") }
        self.init(fd: fd, name: path, owns: true)
    }

    deinit { if ownsDescriptor { close(fd) } }

    func write(_ text: String) throws {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 1 << 16 { try flush() }
    }

    func flush() throws {
        guard !buffer.isEmpty else { return }
        guard writeAll(fd, buffer) else {
            throw CommandFailure(message: "cannot write to \(name): \(String(cString: strerror(errno)))")
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes and, for a file, forces it to the disk, so a finished export is a complete one.
    func finish() throws {
        try flush()
        if ownsDescriptor, fsync(fd) != 0 {
            throw CommandFailure(message: "cannot write to \(name): \(String(cString: strerror(errno)))")
        }
    }
}
