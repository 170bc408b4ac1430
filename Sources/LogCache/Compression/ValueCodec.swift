import CLZ4
import CZstd
import Synchronization

/// Compresses values into records and decompresses them back, through the system's
/// libzstd and liblz4.
enum ValueCodec {
    /// zstd contexts are costly to create and not thread-safe: each call borrows one from a pool.
    private static let compressionContexts = ContextPool(create: { ZSTD_createCCtx() }, free: { ZSTD_freeCCtx($0) })
    private static let decompressionContexts = ContextPool(create: { ZSTD_createDCtx() }, free: { ZSTD_freeDCtx($0) })

    /// Values at least this long are compressed at the level for large values
    /// (``Options/zstdLevelForLargeValues``), and their literals sampled apart from those of
    /// smaller values (``RecordEncoder``).
    static let largeValueMinimum = 1 << 20

    /// Values shorter than this whose literals a handle leaves raw are compressed at level 2
    /// when the store's level is 3 (``level(forRawLiterals:length:)``). zstd sets its
    /// parameters by input size, and this is the bound of its smallest inputs' table.
    static let smallValueMaximum = 16 << 10

    /// The zstd level for a value of `length` bytes whose literals are left raw, in a store
    /// whose level is `level`. Such values are those whose unmatched bytes do not compress
    /// (identifiers, hashes, already compressed data); on them level 3's longer search over
    /// level 2's finds almost nothing more: on 1 KiB values half random, 0.4% fewer bytes
    /// for 1.4-2.3 times the time (`tools/bench-zstd 1024 20000000`, docs/performance.md).
    /// Only the default level is moved: a store that asked for another level gets it.
    static func level(forRawLiterals level: Int, length: Int) -> Int {
        level == 3 && length < smallValueMaximum ? 2 : level
    }

    /// Values at least this long are compressed by zstd's own worker threads, in jobs of a
    /// quarter of it. Below it the calling thread compresses: on 2 cores, two workers gave
    /// 0.67-1.11x one thread's speed on 1 MiB and 16 MiB values (`tools/bench-zstd`), while
    /// the calling thread sits idle, and row 5 of the peer benchmark wrote faster without
    /// them (docs/performance.md).
    static let parallelValueMinimum = 8 << 20

    /// How many of zstd's worker threads compress a value of ``parallelValueMinimum`` or
    /// more: one per processor, or none where the library was built without them (its bound
    /// for workers is then 0).
    private static let parallelWorkers = min(Int(ZSTD_cParam_getBounds(ZSTD_c_nbWorkers).upperBound), Processors.online)

    /// A compression context with sticky parameters: `workers` of zstd's threads in jobs of
    /// a quarter of ``parallelValueMinimum`` (none when 0 or 1), and literals left raw when
    /// `rawLiterals` (zstd's `ZSTD_c_literalCompressionMode`, experimental parameter 5, set
    /// to `ZSTD_ps_disable`). Nil when the library refuses a parameter.
    private static func context(workers: Int, rawLiterals: Bool) -> OpaquePointer? {
        guard let ctx = ZSTD_createCCtx() else { return nil }
        var ok = true
        if workers > 1 {
            ok = ZSTD_isError(ZSTD_CCtx_setParameter(ctx, ZSTD_c_nbWorkers, Int32(workers))) == 0
                && ZSTD_isError(ZSTD_CCtx_setParameter(ctx, ZSTD_c_jobSize, Int32(parallelValueMinimum / 4))) == 0
        }
        if ok, rawLiterals { ok = ZSTD_isError(ZSTD_CCtx_setParameter(ctx, ZSTD_c_experimentalParam5, 2)) == 0 }
        guard ok else {
            ZSTD_freeCCtx(ctx)
            return nil
        }
        return ctx
    }

    /// A pool of ``context(workers:rawLiterals:)``, or nil when the library refuses its
    /// parameters (then values are compressed without them).
    private static func pool(workers: Int, rawLiterals: Bool) -> ContextPool? {
        guard workers > 1 || rawLiterals, let probe = context(workers: workers, rawLiterals: rawLiterals) else { return nil }
        ZSTD_freeCCtx(probe)
        return ContextPool(create: { context(workers: workers, rawLiterals: rawLiterals) }, free: { ZSTD_freeCCtx($0) })
    }

    /// Contexts for values whose literals stay raw, and for values of ``parallelValueMinimum``
    /// on zstd's workers, with literals coded and raw.
    private static let rawLiteralContexts = pool(workers: 1, rawLiterals: true)
    private static let parallelContexts = pool(workers: parallelWorkers, rawLiterals: false)
    private static let parallelRawLiteralContexts = pool(workers: parallelWorkers, rawLiterals: true)

    /// A complete value record for `key` and `value`, compressed by `compression` when the value
    /// is at least `threshold` bytes long and compression makes it smaller, stored raw otherwise.
    /// With `literals`, a zstd value has its literals compressed only while the sampler finds
    /// that it pays (``LiteralSampler``).
    static func encodeRecord(
        key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, compression: Compression,
        threshold: Int, createdAt: Int64, expiresAt: Int64, salt: RecordSalt, literals: LiteralSampler? = nil,
        valueType: ValueType = .bytes
    ) -> [UInt8] {
        let prefix = RecordHeader.size + key.count
        let tryCompress = compression != .none && value.count >= max(threshold, 1)
        let room = tryCompress ? max(value.count, bound(compression, value.count)) : value.count
        return [UInt8](unsafeUninitializedCapacity: prefix + room) { buf, count in
            let out = UnsafeMutableRawBufferPointer(buf)
            let base = out.baseAddress!
            if !key.isEmpty { (base + RecordHeader.size).copyMemory(from: key.baseAddress!, byteCount: key.count) }
            let dst = UnsafeMutableRawBufferPointer(rebasing: out[prefix...])
            var codec = RecordCodec.none
            var stored = value.count
            if tryCompress, let n = compress(value, into: dst, compression, literals: literals), n < value.count {
                codec = compression.codec
                stored = n
            } else if !value.isEmpty {
                dst.baseAddress!.copyMemory(from: value.baseAddress!, byteCount: value.count)
            }
            RecordCoding.writeHeader(base, kind: .value, codec: codec, valueType: valueType, keyLength: key.count, storedLength: stored,
                                     rawLength: value.count, createdAt: createdAt, expiresAt: expiresAt)
            RecordCoding.writeChecksum(UnsafeMutableRawBufferPointer(rebasing: out[0..<(prefix + stored)]), salt: salt)
            count = prefix + stored
        }
    }

    private static func bound(_ compression: Compression, _ n: Int) -> Int {
        switch compression {
        case .none: n
        case .lz4: Int(LZ4_compressBound(Int32(n)))
        case .zstd: ZSTD_compressBound(n)
        }
    }

    /// Compressed length, or nil when the library failed or the output did not fit.
    private static func compress(_ src: UnsafeRawBufferPointer, into dst: UnsafeMutableRawBufferPointer,
                                 _ compression: Compression, literals: LiteralSampler?) -> Int? {
        switch compression {
        case .none:
            return nil
        case .lz4:
            let n = LZ4_compress_default(src.baseAddress!.assumingMemoryBound(to: CChar.self),
                                         dst.baseAddress!.assumingMemoryBound(to: CChar.self),
                                         Int32(src.count), Int32(clamping: dst.count))
            return n > 0 ? Int(n) : nil
        case .zstd(let level):
            let parallel = src.count >= parallelValueMinimum
            let coded = parallel ? parallelContexts : nil
            let raw = parallel ? parallelRawLiteralContexts : rawLiteralContexts
            guard let literals, let raw else { return zstd(src, into: dst, level: level, pool: coded) }
            let rawLevel = Self.level(forRawLiterals: level, length: src.count)
            guard literals.shouldSample() else {
                return literals.compressesLiterals
                    ? zstd(src, into: dst, level: level, pool: coded)
                    : zstd(src, into: dst, level: rawLevel, pool: raw)
            }
            // Both ways, the smaller kept: the sample costs one more compression of this value.
            let withLiterals = zstd(src, into: dst, level: level, pool: coded)
            let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: dst.count, alignment: 1)
            defer { scratch.deallocate() }
            let withoutLiterals = zstd(src, into: scratch, level: rawLevel, pool: raw)
            literals.record(withLiterals: withLiterals ?? src.count, withoutLiterals: withoutLiterals ?? src.count)
            guard let withoutLiterals, withoutLiterals < (withLiterals ?? .max) else { return withLiterals }
            dst.baseAddress!.copyMemory(from: scratch.baseAddress!, byteCount: withoutLiterals)
            return withoutLiterals
        }
    }

    /// `src` compressed by zstd at `level` into `dst`: with a context of `pool`, whose
    /// parameters stay as it set them, or with zstd's defaults for the level. Nil when the
    /// library failed or the output did not fit.
    private static func zstd(_ src: UnsafeRawBufferPointer, into dst: UnsafeMutableRawBufferPointer, level: Int,
                             pool: ContextPool? = nil) -> Int? {
        // A pool that failed to set up, or a context of it that failed to, leaves zstd's defaults.
        guard let pool, let n = pool.with({ ctx -> Int? in
            guard ZSTD_isError(ZSTD_CCtx_setParameter(ctx, ZSTD_c_compressionLevel, Int32(clamping: level))) == 0 else { return nil }
            let n = ZSTD_compress2(ctx, dst.baseAddress, dst.count, src.baseAddress, src.count)
            return ZSTD_isError(n) != 0 ? nil : n
        }) else {
            return compressionContexts.with { ctx in
                let n = ZSTD_compressCCtx(ctx, dst.baseAddress, dst.count, src.baseAddress, src.count, Int32(clamping: level))
                return ZSTD_isError(n) != 0 ? nil : n
            }
        }
        return n
    }

    /// The original value of a record's stored bytes, or nil when they do not decompress to
    /// exactly `rawLength` bytes.
    static func decode(_ stored: UnsafeRawBufferPointer, codec: RecordCodec, rawLength: Int) -> [UInt8]? {
        if codec == .none { return stored.count == rawLength ? [UInt8](stored) : nil }
        var ok = false
        let out = [UInt8](unsafeUninitializedCapacity: rawLength) { buf, count in
            ok = decode(stored, codec: codec, into: UnsafeMutableRawBufferPointer(buf))
            count = ok ? rawLength : 0
        }
        return ok ? out : nil
    }

    /// Decompresses a record's stored bytes into exactly `out.count` bytes of `out`; false
    /// when they do not decompress to exactly that many.
    static func decode(_ stored: UnsafeRawBufferPointer, codec: RecordCodec, into out: UnsafeMutableRawBufferPointer) -> Bool {
        let rawLength = out.count
        guard rawLength > 0, let src = stored.baseAddress, let dst = out.baseAddress else {
            return rawLength == 0 && (codec != .none || stored.isEmpty)
        }
        switch codec {
        case .none:
            guard stored.count == rawLength else { return false }
            dst.copyMemory(from: src, byteCount: rawLength)
            return true
        case .lz4:
            guard let srcCount = Int32(exactly: stored.count), let dstCount = Int32(exactly: rawLength) else { return false }
            let n = LZ4_decompress_safe(src.assumingMemoryBound(to: CChar.self), dst.assumingMemoryBound(to: CChar.self),
                                        srcCount, dstCount)
            return Int(n) == rawLength
        case .zstd:
            let n = decompressionContexts.with { ctx in ZSTD_decompressDCtx(ctx, dst, rawLength, src, stored.count) }
            guard let n else { return false }
            return ZSTD_isError(n) == 0 && n == rawLength
        }
    }
}

/// A pool of library contexts shared by all threads.
private final class ContextPool: Sendable {
    private let free: @Sendable (OpaquePointer) -> Void
    private let create: @Sendable () -> OpaquePointer?
    private let idle = Lock<[UnsafeSendable]>([])

    private struct UnsafeSendable: @unchecked Sendable { let pointer: OpaquePointer }

    init(create: @escaping @Sendable () -> OpaquePointer?, free: @escaping @Sendable (OpaquePointer) -> Void) {
        self.create = create
        self.free = free
    }

    /// Runs `body` with a context; nil when the library could not allocate one.
    func with<R>(_ body: (OpaquePointer) -> R?) -> R? {
        let taken = idle.withLock { $0.popLast()?.pointer } ?? create()
        guard let ctx = taken else { return nil }
        let result = body(ctx)
        let kept = idle.withLock { pool -> Bool in
            guard pool.count < 64 else { return false }
            pool.append(UnsafeSendable(pointer: ctx))
            return true
        }
        if !kept { free(ctx) }
        return result
    }
}
