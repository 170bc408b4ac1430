/// The key a memoized result is stored under: a namespace, a version and the SHA-256 of the
/// request's canonical encoding (``CanonicalEncoder``).
///
/// In the store it is the string `memo/NAMESPACE/VERSION/HASH` (``storeKey``), with HASH the
/// 64 lowercase hex digits of the digest, so that one namespace, or one version of it, is a
/// key prefix: listed with `entries(prefix:)` and removed with
/// ``CacheStore/removeMemoized(namespace:version:)``.
public struct MemoKey: Sendable, Hashable, CustomStringConvertible {
    /// What every memo key starts with.
    public static let storePrefix = "memo/"
    /// The longest namespace or version, in UTF-8 bytes.
    public static let maxNameLength = 200

    /// The group of results this key belongs to, usually one kind of call ("chat", "search").
    public let namespace: String
    /// The version of the computation; changing it makes every older result a miss.
    public let version: String
    /// SHA-256 of the request's canonical bytes.
    public let digest: [UInt8]

    /// The key of `request` in `namespace` at `version`, leaving out the fields named in
    /// `excluding` (at any depth).
    ///
    /// - Throws: ``MemoError/invalidNamespace(_:reason:)`` or
    ///   ``MemoError/invalidVersion(_:reason:)`` for a name that cannot be part of a key,
    ///   ``MemoError/unencodableKey(path:reason:)`` for a request with no canonical encoding.
    public init<Request: Encodable>(
        namespace: String, version: String, request: Request, excluding: Set<String> = []
    ) throws(MemoError) {
        try Self.check(namespace: namespace)
        try Self.check(version: version)
        self.namespace = namespace
        self.version = version
        digest = SHA256.hash(try CanonicalEncoder(excluding: excluding).encode(request))
    }

    /// The key of a request given as a JSON value: the same key as for any `Encodable`
    /// request that encodes to the same JSON, made without going through `Encodable` (what
    /// a caller that keys on a parsed body, such as a proxy, needs on every request).
    ///
    /// - Throws: as ``init(namespace:version:request:excluding:)`` does.
    public init(namespace: String, version: String, json request: JSONValue, excluding: Set<String> = []) throws(MemoError) {
        try Self.check(namespace: namespace)
        try Self.check(version: version)
        self.namespace = namespace
        self.version = version
        let canonical: CanonicalValue
        do {
            canonical = try request.canonicalValue(codingPath: [], excluded: excluding)
        } catch let error as EncodingError {
            throw MemoError(encodingError: error)
        } catch {
            throw .unencodableKey(path: "", reason: "\(error)")
        }
        digest = SHA256.hash(canonical.bytes)
    }

    /// The key stored as `storeKey`, or nil when that is not a memo key.
    public init?(storeKey: String) {
        guard storeKey.hasPrefix(Self.storePrefix) else { return nil }
        let parts = storeKey.dropFirst(Self.storePrefix.count).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, let digest = Self.bytes(hex: parts[2]), digest.count == SHA256.digestLength,
              (try? Self.check(namespace: String(parts[0]))) != nil, (try? Self.check(version: String(parts[1]))) != nil
        else { return nil }
        namespace = String(parts[0])
        version = String(parts[1])
        self.digest = digest
    }

    /// The digest in lowercase hex.
    public var hash: String { SHA256.hex(digest) }

    /// The string the result is stored under: `memo/NAMESPACE/VERSION/HASH`.
    public var storeKey: String { Self.storePrefix + namespace + "/" + version + "/" + hash }

    /// The store key.
    public var description: String { storeKey }

    /// The prefix of every key of `namespace`, or of one version of it.
    public static func prefix(namespace: String, version: String? = nil) throws(MemoError) -> String {
        try check(namespace: namespace)
        guard let version else { return storePrefix + namespace + "/" }
        try check(version: version)
        return storePrefix + namespace + "/" + version + "/"
    }

    /// Checks that `namespace` can be part of a key.
    public static func check(namespace: String) throws(MemoError) {
        if let reason = problem(namespace) { throw .invalidNamespace(namespace, reason: reason) }
    }

    /// Checks that `version` can be part of a key.
    public static func check(version: String) throws(MemoError) {
        if let reason = problem(version) { throw .invalidVersion(version, reason: reason) }
    }

    /// What keeps `name` out of a key, if anything: the `/` separates the parts of the key,
    /// and control characters would garble listings.
    private static func problem(_ name: String) -> String? {
        if name.isEmpty { return "it is empty" }
        if name.utf8.count > maxNameLength { return "it is longer than \(maxNameLength) bytes" }
        if name.contains("/") { return "it contains \"/\", which separates the parts of a memo key" }
        if name.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) {
            return "it contains a control character"
        }
        return nil
    }

    private static func bytes(hex: Substring) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        var i = 0
        while i < digits.count {
            guard let high = nibble(digits[i]), let low = nibble(digits[i + 1]) else { return nil }
            out.append(high << 4 | low)
            i += 2
        }
        return out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}
