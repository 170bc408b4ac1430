#if canImport(Glibc)
import Glibc
#endif

/// A read-only memory map of a whole file, for scanning a segment without copying it.
final class MappedFile {
    let bytes: UnsafeRawBufferPointer

    init(_ file: File, length: Int) throws(CacheError) {
        guard length > 0 else {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let p = mmap(nil, length, PROT_READ, MAP_SHARED, file.fd, 0), p != MAP_FAILED else {
            throw .io(operation: "mmap", path: file.path, errno: errno)
        }
        bytes = UnsafeRawBufferPointer(start: p, count: length)
    }

    /// Maps the whole file at `path`.
    convenience init(path: String) throws(CacheError) {
        let file = try File.open(path, flags: O_RDONLY)
        try self.init(file, length: try file.size())
    }

    deinit {
        if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
    }
}
