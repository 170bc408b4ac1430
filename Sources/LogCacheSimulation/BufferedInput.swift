/// Buffers a ``ByteSource`` and hands out fixed-size records or lines without copying them.
public final class BufferedInput {
    private let source: any ByteSource
    private let buffer: UnsafeMutableRawPointer
    private let capacity: Int
    private var start = 0
    private var end = 0
    private var ended = false
    /// Bytes handed out so far (the offset of the next record or line in the decompressed stream).
    public private(set) var consumed = 0

    /// Reads `source` in blocks of `capacity` bytes.
    public init(_ source: any ByteSource, capacity: Int = 1 << 20) {
        self.source = source
        self.capacity = capacity
        buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
    }

    deinit { buffer.deallocate() }

    /// The fraction of the underlying file consumed.
    public var fractionRead: Double { source.fractionRead }

    /// Refills until at least `n` bytes are buffered or the stream ends; returns the bytes available.
    private func fill(_ n: Int) throws(TraceError) -> Int {
        if end - start >= n || ended { return end - start }
        if start > 0 {
            let live = end - start
            if live > 0 { buffer.copyMemory(from: buffer + start, byteCount: live) }
            start = 0
            end = live
        }
        while end - start < n && end < capacity {
            let got = try source.read(into: UnsafeMutableRawBufferPointer(start: buffer + end, count: capacity - end))
            if got == 0 {
                ended = true
                break
            }
            end += got
        }
        return end - start
    }

    /// The next `n` bytes (valid until the next call), nil at a clean end of the stream.
    /// Throws when the stream ends inside a record; `what` names the input in the message.
    @inline(__always)
    public func record(_ n: Int, what: String) throws(TraceError) -> UnsafeRawPointer? {
        if end - start < n {
            let have = try fill(n)
            if have == 0 { return nil }
            if have < n {
                throw TraceError("\(what) is truncated: the last record at byte \(consumed) has \(have) of \(n) bytes")
            }
        }
        let p = UnsafeRawPointer(buffer + start)
        start += n
        consumed += n
        return p
    }

    /// As many whole records of `n` bytes as are buffered, at most `maxCount` and at least one
    /// (refilling when none is): their start and count, valid until the next call; nil at a
    /// clean end of the stream. Throws when the stream ends inside a record.
    public func records(_ n: Int, upTo maxCount: Int, what: String) throws(TraceError) -> (UnsafeRawPointer, Int)? {
        guard maxCount > 0, try record(n, what: what) != nil else { return nil }
        // `record` has taken the first; take the rest of those already buffered with it.
        let first = start - n
        let more = min(maxCount - 1, (end - start) / n)
        start += more * n
        consumed += more * n
        return (UnsafeRawPointer(buffer + first), 1 + more)
    }

    /// The next line without its line break (valid until the next call), nil at the end.
    public func line(what: String) throws(TraceError) -> UnsafeRawBufferPointer? {
        var searched = 0
        while true {
            let avail = end - start
            if avail > searched {
                let base = buffer + start
                if let nl = memchrIndex(base + searched, avail - searched) {
                    let length = searched + nl
                    start += length + 1
                    consumed += length + 1
                    return trimCR(UnsafeRawBufferPointer(start: base, count: length))
                }
                searched = avail
            }
            if ended || (start == 0 && end == capacity) {
                if avail == 0 { return nil }
                if start == 0 && end == capacity && !ended {
                    throw TraceError("\(what) has a line longer than \(capacity) bytes at byte \(consumed)")
                }
                let base = buffer + start
                start = end
                consumed += avail
                return trimCR(UnsafeRawBufferPointer(start: base, count: avail))
            }
            _ = try fill(avail + 1)
        }
    }

    private func trimCR(_ b: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        if let last = b.last, last == UInt8(ascii: "\r") { return UnsafeRawBufferPointer(rebasing: b.dropLast()) }
        return b
    }

    private func memchrIndex(_ p: UnsafeMutableRawPointer, _ n: Int) -> Int? {
        let bytes = p.assumingMemoryBound(to: UInt8.self)
        for i in 0..<n where bytes[i] == 10 { return i }
        return nil
    }
}
