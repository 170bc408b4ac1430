#if canImport(Glibc)
import Glibc
#endif

/// A stream of bytes a trace reader pulls from: a file, or a decompressor over one.
public protocol ByteSource: AnyObject {
    /// Reads up to `buffer.count` bytes; 0 at the end of the stream.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(TraceError) -> Int
    /// The fraction of the underlying file consumed so far.
    var fractionRead: Double { get }
}

/// A file read sequentially with `read(2)`.
public final class FileByteSource: ByteSource {
    private let fd: Int32
    /// The file's name, for messages.
    public let path: String
    /// The file's size when it was opened.
    public let size: Int
    /// Bytes read so far.
    public private(set) var offset = 0

    /// Opens `path` for reading.
    public init(path: String) throws(TraceError) {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw TraceError("cannot open trace \(path): \(String(cString: strerror(errno)))") }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw TraceError("cannot stat trace \(path): \(message)")
        }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            close(fd)
            throw TraceError("trace \(path) is a directory")
        }
        self.fd = fd
        size = Int(st.st_size)
        #if os(Linux)
        _ = posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_SEQUENTIAL))
        #endif
    }

    deinit { close(fd) }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(TraceError) -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        while true {
            let n = Glibc.read(fd, base, buffer.count)
            if n < 0 {
                if errno == EINTR { continue }
                throw TraceError("cannot read trace \(path) at byte \(offset): \(String(cString: strerror(errno)))")
            }
            offset += n
            return n
        }
    }

    public var fractionRead: Double { size > 0 ? min(1, Double(offset) / Double(size)) : 1 }
}
