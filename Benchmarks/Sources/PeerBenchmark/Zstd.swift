import CPeerZstd

/// zstd for the peers that store compressed blobs themselves (SQLite, LMDB) and for the
/// decompression floor of workload 1: one compression and one decompression context, reused,
/// as a careful application keeps them.
final class ZstdCodec {
    let level: Int32
    private let cctx: OpaquePointer
    private let dctx: OpaquePointer
    private var scratch: [UInt8] = []

    init(level: Int32 = 3) {
        self.level = level
        cctx = ZSTD_createCCtx()
        dctx = ZSTD_createDCtx()
    }

    deinit {
        ZSTD_freeCCtx(cctx)
        ZSTD_freeDCtx(dctx)
    }

    /// Calls `body` with the compressed form of `value`; the bytes are valid only inside `body`.
    func compress<R>(_ value: [UInt8], _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let bound = ZSTD_compressBound(value.count)
        if scratch.count < bound { scratch = [UInt8](repeating: 0, count: bound) }
        let n = value.withUnsafeBytes { v in
            scratch.withUnsafeMutableBytes { out in
                ZSTD_compressCCtx(cctx, out.baseAddress, out.count, v.baseAddress, v.count, level)
            }
        }
        guard ZSTD_isError(n) == 0 else { throw PeerError("zstd: \(String(cString: ZSTD_getErrorName(n)))") }
        return try scratch.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
    }

    /// A compressed copy of `value`.
    func compressed(_ value: [UInt8]) throws -> [UInt8] { try compress(value) { [UInt8]($0) } }

    /// Decompresses a zstd frame into `buffer`, which is grown when it is too short and
    /// otherwise reused; the original length.
    func decompress(_ frame: UnsafeRawBufferPointer, into buffer: inout [UInt8]) throws -> Int {
        let size = ZSTD_getFrameContentSize(frame.baseAddress, frame.count)
        guard size < ZSTD_CONTENTSIZE_ERROR else { throw PeerError("zstd: not a frame with a known size") }
        if buffer.count < Int(size) { buffer = [UInt8](repeating: 0, count: Int(size)) }
        let n = buffer.withUnsafeMutableBytes { ZSTD_decompressDCtx(dctx, $0.baseAddress, Int(size), frame.baseAddress, frame.count) }
        guard ZSTD_isError(n) == 0, n == Int(size) else { throw PeerError("zstd: damaged frame") }
        return n
    }

    /// The original bytes of a zstd frame, in a new buffer (as a store hands back a value).
    func decompress(_ frame: UnsafeRawBufferPointer) throws -> [UInt8] {
        let size = ZSTD_getFrameContentSize(frame.baseAddress, frame.count)
        guard size < ZSTD_CONTENTSIZE_ERROR else { throw PeerError("zstd: not a frame with a known size") }
        var failure: PeerError?
        let out = [UInt8](unsafeUninitializedCapacity: Int(size)) { buf, count in
            let n = ZSTD_decompressDCtx(dctx, buf.baseAddress, Int(size), frame.baseAddress, frame.count)
            if ZSTD_isError(n) != 0 || n != Int(size) { failure = PeerError("zstd: damaged frame"); count = 0 } else { count = n }
        }
        if let failure { throw failure }
        return out
    }
}
