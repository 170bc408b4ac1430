import LogCache

/// HMAC-SHA-256 (RFC 2104) over the engine's SHA-256: the tag that lets a reader with the
/// shared secret refuse values that something without it wrote under the prefix.
enum HMACSHA256 {
    static let tagLength = SHA256.digestLength
    private static let blockLength = 64

    /// The tag of `message` under `key`.
    static func tag(key: [UInt8], _ message: UnsafeRawBufferPointer) -> [UInt8] {
        var k = key.count > blockLength ? SHA256.hash(key) : key
        k += [UInt8](repeating: 0, count: blockLength - k.count)
        var inner = SHA256()
        inner.update(k.map { $0 ^ 0x36 })
        inner.update(message)
        var outer = SHA256()
        outer.update(k.map { $0 ^ 0x5c })
        outer.update(inner.finalize())
        return outer.finalize()
    }

    /// Whether two tags are equal, in time that does not depend on where they differ.
    static func equal(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }
}
