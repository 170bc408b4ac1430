import CZstd
import LogCache
import Synchronization

/// The bytes of a value in Redis: self-describing, independent of any one store (no store
/// salt, no store dictionary), so that every machine's store reads what any other wrote.
/// docs/shared-tier.md describes the layout:
///
/// ```
/// magic "LCS1" | layout 1 | codec | value type | flags | expiresAt u64 | key length u32 |
/// value length u32 | stored length u32 | key | stored value | CRC-32C u32 | [HMAC tag 32]
/// ```
///
/// Integers are little-endian. The CRC-32C covers every byte before it; the HMAC-SHA-256 tag,
/// present when flag bit 0 is set, covers every byte before it, CRC included.
enum SharedRecord {
    static let magic: [UInt8] = Array("LCS1".utf8)
    static let layout: UInt8 = 1
    static let headerLength = 28
    static let flagTagged: UInt8 = 1

    enum Codec: UInt8 {
        case none = 0
        case zstd = 1
    }

    /// Values at least this long are compressed with zstd when that makes them smaller.
    static let compressionThreshold = 128

    /// A value read back and checked.
    struct Decoded {
        var value: [UInt8]
        var type: ValueType
        /// Milliseconds since the Unix epoch; nil for a value without expiry.
        var expiresAt: Int64?
        /// The value as it was stored, one zstd frame that decoded to exactly ``value``; nil
        /// for a value stored raw. The write-back keeps it as the local record's bytes.
        var zstdFrame: ArraySlice<UInt8>? = nil
    }

    /// Why stored bytes were refused: each is a counted error, never a value.
    enum Refusal: Error, CustomStringConvertible {
        case damaged(String)
        case untagged
        case forged
        case pickleWithoutSecret

        var description: String {
            switch self {
            case .damaged(let why): "damaged: \(why)"
            case .untagged: "no HMAC tag, and a secret is configured"
            case .forged: "the HMAC tag does not match (written without the secret)"
            case .pickleWithoutSecret: "a pickle, which is only taken from Redis with a secret (unpickling runs code)"
            }
        }
    }

    static func encode(key: [UInt8], value: [UInt8], type: ValueType, expiresAt: Int64?, secret: [UInt8]?) -> [UInt8] {
        var codec = Codec.none
        var stored = value
        if value.count >= compressionThreshold {
            var out = [UInt8](repeating: 0, count: ZSTD_compressBound(value.count))
            let n = ZstdContexts.shared.compressing(orElse: Int.max) { cctx in
                out.withUnsafeMutableBytes { o in
                    value.withUnsafeBytes { v in ZSTD_compressCCtx(cctx, o.baseAddress, o.count, v.baseAddress, v.count, 1) }
                }
            }
            if ZSTD_isError(n) == 0 && n < value.count {
                out.removeSubrange(n...)
                stored = out
                codec = .zstd
            }
        }
        var bytes = magic
        bytes.reserveCapacity(headerLength + key.count + stored.count + 4 + HMACSHA256.tagLength)
        bytes.append(layout)
        bytes.append(codec.rawValue)
        bytes.append(type.rawValue)
        bytes.append(secret == nil ? 0 : flagTagged)
        append(&bytes, UInt64(max(0, expiresAt ?? 0)))
        append32(&bytes, key.count)
        append32(&bytes, value.count)
        append32(&bytes, stored.count)
        bytes += key
        bytes += stored
        let crc = bytes.withUnsafeBytes { CRC32C.checksum($0) }
        append32(&bytes, Int(crc))
        if let secret {
            bytes += bytes.withUnsafeBytes { HMACSHA256.tag(key: secret, $0) }
        }
        return bytes
    }

    /// The value `bytes` hold for `key`, checked: the layout, the lengths (against
    /// `maxValueLength` before anything is allocated), the key, the checksum, and with a
    /// secret the tag.
    static func decode(_ bytes: [UInt8], key: [UInt8], secret: [UInt8]?, maxValueLength: Int) throws(Refusal) -> Decoded {
        guard bytes.count >= headerLength + 4, Array(bytes[0..<4]) == magic else { throw .damaged("not a shared value (too short or no LCS1 magic)") }
        guard bytes[4] == layout else { throw .damaged("layout \(bytes[4]), this build reads layout \(layout)") }
        guard let codec = Codec(rawValue: bytes[5]) else { throw .damaged("unknown codec \(bytes[5])") }
        guard let type = ValueType(rawValue: bytes[6]) else { throw .damaged("unknown value type \(bytes[6])") }
        let flags = bytes[7]
        guard flags & ~flagTagged == 0 else { throw .damaged("unknown flags \(flags)") }
        let expiry = read64(bytes, 8)
        let keyLength = read32(bytes, 16), valueLength = read32(bytes, 20), storedLength = read32(bytes, 24)
        guard keyLength == key.count else { throw .damaged("it is the value of another key") }
        guard valueLength <= maxValueLength, valueLength <= Limits.maxValueLength else {
            throw .damaged("a value length of \(valueLength) bytes, over the limit of \(min(maxValueLength, Limits.maxValueLength))")
        }
        guard storedLength <= bytes.count else { throw .damaged("a stored length of \(storedLength) bytes in \(bytes.count) bytes") }
        let tagged = flags & flagTagged != 0
        // Every length is at most bytes.count, so these sums cannot overflow.
        let crcOffset = headerLength + keyLength + storedLength
        let expected = crcOffset + 4 + (tagged ? HMACSHA256.tagLength : 0)
        guard expected == bytes.count else { throw .damaged("\(bytes.count) bytes where the header says \(expected) (truncated or extended)") }
        if let secret {
            guard tagged else { throw .untagged }
            let tag = bytes.withUnsafeBytes { HMACSHA256.tag(key: secret, UnsafeRawBufferPointer(rebasing: $0[0..<(crcOffset + 4)])) }
            guard HMACSHA256.equal(tag, bytes[(crcOffset + 4)...]) else { throw .forged }
        }
        let crc = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<crcOffset])) }
        guard crc == UInt32(truncatingIfNeeded: read32(bytes, crcOffset)) else { throw .damaged("the checksum does not match") }
        guard bytes[headerLength..<(headerLength + keyLength)].elementsEqual(key) else { throw .damaged("it is the value of another key") }
        let storedRange = (headerLength + keyLength)..<crcOffset
        var value: [UInt8]
        var frame: ArraySlice<UInt8>?
        switch codec {
        case .none:
            guard storedLength == valueLength else { throw .damaged("an uncompressed value whose lengths differ") }
            value = Array(bytes[storedRange])
        case .zstd:
            value = [UInt8](repeating: 0, count: valueLength)
            let n = ZstdContexts.shared.decompressing(orElse: Int.max) { dctx in
                value.withUnsafeMutableBytes { o in
                    bytes.withUnsafeBytes { b in
                        ZSTD_decompressDCtx(dctx, o.baseAddress, o.count, b.baseAddress! + storedRange.lowerBound, storedRange.count)
                    }
                }
            }
            guard ZSTD_isError(n) == 0, n == valueLength else { throw .damaged("the zstd frame does not decode to \(valueLength) bytes") }
            frame = bytes[storedRange]
        }
        guard expiry <= UInt64(Limits.latestExpiry) else { throw .damaged("an expiry past the year 9999") }
        return Decoded(value: value, type: type, expiresAt: expiry == 0 ? nil : Int64(expiry), zstdFrame: frame)
    }

    private static func append(_ bytes: inout [UInt8], _ v: UInt64) {
        for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) }
    }

    private static func append32(_ bytes: inout [UInt8], _ v: Int) {
        let u = UInt32(truncatingIfNeeded: v)
        for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: u >> (8 * UInt32(i)))) }
    }

    private static func read64(_ b: [UInt8], _ at: Int) -> UInt64 {
        var v: UInt64 = 0
        for i in 0..<8 { v |= UInt64(b[at + i]) << (8 * UInt64(i)) }
        return v
    }

    private static func read32(_ b: [UInt8], _ at: Int) -> Int {
        var v = 0
        for i in 0..<4 { v |= Int(b[at + i]) << (8 * i) }
        return v
    }
}

/// zstd contexts kept for reuse: `ZSTD_compress` and `ZSTD_decompress` make and free a context
/// of tens to hundreds of kilobytes on every call, which costs more than coding a small value.
final class ZstdContexts: Sendable {
    static let shared = ZstdContexts()

    private struct Pointers: @unchecked Sendable {
        var compressors: [OpaquePointer] = []
        var decompressors: [OpaquePointer] = []
    }

    private let free = Mutex(Pointers())
    /// Contexts kept beyond this many (more threads than this at once) are freed after use.
    private let kept = 8

    /// `body` run with a compression context; `fallback` when none can be made (no memory).
    func compressing<R>(orElse fallback: R, _ body: (OpaquePointer) -> R) -> R {
        guard let context = free.withLock({ $0.compressors.popLast() }) ?? ZSTD_createCCtx() else { return fallback }
        defer {
            let surplus = free.withLock { p -> Bool in
                guard p.compressors.count < kept else { return true }
                p.compressors.append(context)
                return false
            }
            if surplus { ZSTD_freeCCtx(context) }
        }
        return body(context)
    }

    /// `body` run with a decompression context; `fallback` when none can be made (no memory).
    func decompressing<R>(orElse fallback: R, _ body: (OpaquePointer) -> R) -> R {
        guard let context = free.withLock({ $0.decompressors.popLast() }) ?? ZSTD_createDCtx() else { return fallback }
        defer {
            let surplus = free.withLock { p -> Bool in
                guard p.decompressors.count < kept else { return true }
                p.decompressors.append(context)
                return false
            }
            if surplus { ZSTD_freeDCtx(context) }
        }
        return body(context)
    }
}
