import CZstd

/// Decompresses a zstd stream on the fly with libzstd's streaming API, so that compressed
/// traces of any size are read with a constant amount of memory.
public final class ZstdStreamSource: ByteSource {
    private let input: any ByteSource
    private let name: String
    private let stream: OpaquePointer
    private let compressed: UnsafeMutableRawPointer
    private let compressedCapacity: Int
    private var inStart = 0
    private var inEnd = 0
    private var inputEnded = false
    /// libzstd's last hint: 0 once a frame is complete.
    private var frameRemaining = 0
    private var producedAny = false

    /// Decompresses `input`; `name` names it in messages.
    public init(_ input: any ByteSource, name: String) throws(TraceError) {
        guard let stream = ZSTD_createDStream() else { throw TraceError("cannot allocate a zstd stream for \(name)") }
        self.input = input
        self.name = name
        self.stream = stream
        ZSTD_initDStream(stream)
        compressedCapacity = max(ZSTD_DStreamInSize(), 1 << 16)
        compressed = UnsafeMutableRawPointer.allocate(byteCount: compressedCapacity, alignment: 16)
    }

    deinit {
        ZSTD_freeDStream(stream)
        compressed.deallocate()
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(TraceError) -> Int {
        guard let outBase = buffer.baseAddress, buffer.count > 0 else { return 0 }
        var out = ZSTD_outBuffer(dst: outBase, size: buffer.count, pos: 0)
        while out.pos == 0 {
            if inStart == inEnd && !inputEnded {
                inStart = 0
                inEnd = try input.read(into: UnsafeMutableRawBufferPointer(start: compressed, count: compressedCapacity))
                if inEnd == 0 { inputEnded = true }
            }
            if inStart == inEnd && inputEnded {
                if !producedAny { throw TraceError("\(name) is empty, not a zstd stream") }
                if frameRemaining != 0 { throw TraceError("\(name) is truncated: the zstd stream ends inside a frame") }
                return 0
            }
            var inBuf = ZSTD_inBuffer(src: UnsafeRawPointer(compressed + inStart), size: inEnd - inStart, pos: 0)
            let r = ZSTD_decompressStream(stream, &out, &inBuf)
            if ZSTD_isError(r) != 0 {
                throw TraceError("\(name) is not a valid zstd stream: \(String(cString: ZSTD_getErrorName(r)))")
            }
            producedAny = true
            frameRemaining = r
            inStart += inBuf.pos
        }
        return out.pos
    }

    public var fractionRead: Double { input.fractionRead }
}
