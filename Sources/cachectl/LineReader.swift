#if canImport(Glibc)
import Glibc
#endif

/// Reads a file descriptor line by line without holding more than one chunk and one line.
final class LineReader {
    private let fd: Int32
    private let name: String
    private let maxLineLength: Int
    private var buffer: [UInt8] = []
    private var start = 0
    private var scanned = 0
    private var atEnd = false
    /// Bytes handed out so far, newlines included.
    private(set) var consumed = 0

    init(fd: Int32, name: String, maxLineLength: Int) {
        self.fd = fd
        self.name = name
        self.maxLineLength = maxLineLength
    }

    /// The next line without its newline; nil at the end of the input.
    func next() throws -> ArraySlice<UInt8>? {
        while true {
            if let newline = buffer[scanned...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = buffer[start..<newline]
                consumed += newline + 1 - start
                start = newline + 1
                scanned = start
                return line
            }
            scanned = buffer.count
            if atEnd {
                guard start < buffer.count else { return nil }
                let line = buffer[start...]
                consumed += buffer.count - start
                start = buffer.count
                return line
            }
            guard buffer.count - start <= maxLineLength else {
                throw CommandFailure(message: "\(name): a line is longer than \(maxLineLength) bytes, more than any entry can take")
            }
            try fill()
        }
    }

    private func fill() throws {
        if start > 0 {
            buffer.removeFirst(start)
            scanned -= start
            start = 0
        }
        let chunk = 1 << 20
        let old = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: chunk))
        var n: Int
        repeat {
            n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + old, chunk) }
        } while n < 0 && errno == EINTR
        guard n >= 0 else {
            throw CommandFailure(message: "cannot read \(name): \(String(cString: strerror(errno)))")
        }
        buffer.removeLast(chunk - n)
        if n == 0 { atEnd = true }
    }
}
