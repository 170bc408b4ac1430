import Dispatch
import LogCache
import Logging
import Synchronization

/// A local ``CacheStore`` with a second tier behind it, shared by many machines through
/// Redis (docs/shared-tier.md).
///
/// ```swift
/// let store = try CacheStore(directory: "/var/cache/job")
/// let cache = try SharedCache(local: store, options: SharedTierOptions(url: "redis://cache-host:6379/0"))
/// try cache.set(Array("result".utf8), forKey: "request-1", ttl: .seconds(3600))
/// let value = try cache.value(forKey: "request-1")   // local first, then Redis
/// ```
///
/// The local store stays the first tier: a local hit costs one local read and no round trip.
/// A local miss asks Redis; a value found there is checked (``SharedRecord``), written into
/// the local store with its remaining TTL, and returned. A write goes to the local store
/// first, then to Redis. Redis that is down, slow or failing never makes a call fail: the
/// call works locally and the failure is counted in ``sharedStatistics``.
///
/// The wrapper, not an option of the store: the engine does not link hiredis, and the tier is
/// a setting of this handle, not of the store on disk. The local store remains the caller's:
/// ``close()`` does not close it.
public final class SharedCache: Sendable {
    /// The first tier.
    public let local: CacheStore
    /// The settings of the shared tier, checked.
    public let options: SharedTierOptions
    let pool: ConnectionPool
    let counters = SharedTierCounters()
    let valuePrefix: [UInt8]
    let leasePrefix: [UInt8]
    let logger: Logger
    private let background: BackgroundWrites?

    /// A shared tier in front of `local`. Does not connect: Redis that is down now is a
    /// state the tier works through, not an error.
    ///
    /// - Throws: ``SharedTierError/invalidOption(_:)`` for settings out of range.
    public init(local: CacheStore, options: SharedTierOptions) throws(SharedTierError) {
        self.local = local
        self.options = try options.validated()
        logger = options.logger ?? local.logger
        pool = ConnectionPool(options: self.options, counters: counters, logger: logger)
        valuePrefix = Array((options.keyPrefix + "v:").utf8)
        leasePrefix = Array((options.keyPrefix + "l:").utf8)
        if case .background(let limit) = options.writeMode {
            background = BackgroundWrites(limit: limit)
        } else {
            background = nil
        }
    }

    /// What this handle did with Redis since it was made.
    public var sharedStatistics: SharedTierStatistics { counters.snapshot }

    /// Whether Redis answers now, and how long a PING took; tried even while the tier waits
    /// to reconnect.
    public func ping() -> Result<Duration, SharedTierError> { pool.ping() }

    // MARK: Reads

    /// The value of `key`: from the local store, else from Redis (then kept locally).
    public func value(forKey key: String) throws(CacheError) -> [UInt8]? {
        if let hit = try local.value(forKey: key) { return hit }
        return try sharedValue(forKey: Array(key.utf8))
    }

    /// The value of a key of arbitrary bytes: from the local store, else from Redis.
    public func value(forKey key: [UInt8]) throws(CacheError) -> [UInt8]? {
        // The store's own read: a local hit costs what it costs without the tier.
        if let hit = try local.value(forKey: key) { return hit }
        return try sharedValue(forKey: key)
    }

    private func sharedValue(forKey key: [UInt8]) throws(CacheError) -> [UInt8]? {
        guard let found = fetchShared(key) else { return nil }
        keepLocally([(key, found)])
        return found.value
    }

    /// The value of `key` and its type: from the local store, else from Redis.
    public func typedValue(forKey key: [UInt8]) throws(CacheError) -> (type: ValueType, value: [UInt8])? {
        if let hit = try local.typedValue(forKey: key) { return hit }
        guard let found = fetchShared(key) else { return nil }
        keepLocally([(key, found)])
        return (found.type, found.value)
    }

    /// The values of many keys, in their order: local reads first, then one `MGET` for the
    /// keys the local store does not have.
    public func values(forKeys keys: [[UInt8]]) throws(CacheError) -> [[UInt8]?] {
        var found = [[UInt8]?](repeating: nil, count: keys.count)
        try local.forEachTypedValue(forKeys: keys) { i, _, bytes in found[i] = Array(bytes) }
        let missing = found.indices.filter { found[$0] == nil }
        guard !missing.isEmpty else { return found }
        let keysOfMissing = missing.map { keys[$0] }
        let replies = pool.exchange { c throws(SharedTierError) -> [RedisReply] in
            let reply = try c.command([Array("MGET".utf8)] + keysOfMissing.map { valuePrefix + $0 })
            guard case .array(let items) = reply, items.count == keysOfMissing.count else {
                if case .error(let message) = reply { throw .reply(message) }
                throw .reply("MGET answered \(reply.kind), not \(keysOfMissing.count) values")
            }
            return items
        }
        guard let replies else { return found }
        var kept: [([UInt8], SharedRecord.Decoded)] = []
        for (j, reply) in replies.enumerated() {
            let key = keysOfMissing[j]
            if let decoded = accept(reply, key: key) {
                found[missing[j]] = decoded.value
                kept.append((key, decoded))
            }
        }
        keepLocally(kept)
        return found
    }

    // MARK: Writes

    /// Sets `value` for `key` in the local store, then in Redis with the same TTL.
    public func set(_ value: [UInt8], forKey key: String, type: ValueType = .bytes, ttl: Duration? = nil) throws(CacheError) {
        try set(value, forKey: Array(key.utf8), type: type, ttl: ttl)
    }

    /// Sets `value` for a key of arbitrary bytes in the local store, then in Redis with the
    /// same TTL (nil: the store's default TTL). A failure of Redis is counted, not thrown.
    public func set(_ value: [UInt8], forKey key: [UInt8], type: ValueType = .bytes, ttl: Duration? = nil) throws(CacheError) {
        try local.set(value, forKey: key, type: type, ttl: ttl)
        share([(key, value, type)], expiresAt: expiry(ttl))
    }

    /// Sets many values locally in one batch, then in Redis in one pipeline.
    public func setValues(_ values: [(key: [UInt8], value: [UInt8], type: ValueType)], ttl: Duration? = nil) throws(CacheError) {
        try local.setValues(values, ttl: ttl)
        share(values.map { ($0.key, $0.value, $0.type) }, expiresAt: expiry(ttl))
    }

    /// Removes `key` from the local store and, when `everywhere` is true, from Redis too
    /// (where every other machine reads it). Returns whether either tier had it.
    @discardableResult
    public func removeValue(forKey key: [UInt8], everywhere: Bool = false) throws(CacheError) -> Bool {
        let removed = try local.removeValue(forKey: key)
        guard everywhere else { return removed }
        // A queued write of the key must not land after the removal and bring it back.
        background?.drain()
        let shared = pool.exchange { c throws(SharedTierError) -> Bool in
            if case .integer(let n) = try c.command([Array("DEL".utf8), valuePrefix + key]) { return n > 0 }
            throw .reply("DEL did not answer a count")
        }
        return removed || shared == true
    }

    /// Removes `key` (a string) from the local store and, when `everywhere` is true, from Redis.
    @discardableResult
    public func removeValue(forKey key: String, everywhere: Bool = false) throws(CacheError) -> Bool {
        try removeValue(forKey: Array(key.utf8), everywhere: everywhere)
    }

    /// Empties the local store and, when `everywhere` is true, removes every value under the
    /// prefix from Redis (with `SCAN` and `UNLINK`, a thousand keys at a time). Returns the
    /// number of local entries removed and of shared values removed (nil when Redis could
    /// not be reached).
    @discardableResult
    public func removeAll(everywhere: Bool = false) throws(CacheError) -> (local: Int, shared: Int?) {
        let removed = try local.removeAll()
        guard everywhere else { return (removed, nil) }
        background?.drain()
        return (removed, removeAllShared())
    }

    /// Waits until every queued background write has been sent (or dropped).
    public func flush() {
        background?.drain()
    }

    /// Sends the queued background writes and closes the connections to Redis. The local
    /// store stays open: it is the caller's.
    public func close() {
        flush()
        pool.close()
    }

    // MARK: The tier's parts

    /// The absolute expiry of a value set now with `ttl` (or the store's default TTL).
    func expiry(_ ttl: Duration?) -> Int64? {
        let ms: Int64?
        if let ttl {
            let (s, atto) = ttl.components
            let (scaled, o1) = s.multipliedReportingOverflow(by: 1000)
            let (sum, o2) = scaled.addingReportingOverflow(atto / 1_000_000_000_000_000)
            ms = o1 || o2 ? Int64.max : sum
        } else {
            ms = local.settings.defaultTTLMilliseconds
        }
        guard let ms else { return nil }
        let (at, overflow) = options.clock.now().addingReportingOverflow(ms)
        return overflow ? Limits.latestExpiry : min(at, Limits.latestExpiry)
    }

    /// Sends values to Redis (now, or through the background queue); values over the size
    /// limit stay local.
    func share(_ values: [([UInt8], [UInt8], ValueType)], expiresAt: Int64?, forceSynchronous: Bool = false) {
        var commands: [[[UInt8]]] = []
        var bytes = 0
        let now = options.clock.now()
        if let expiresAt, expiresAt <= now { return }
        for (key, value, type) in values {
            guard value.count <= options.maxValueSize else {
                counters.add(counters.skippedLarge)
                continue
            }
            let record = SharedRecord.encode(key: key, value: value, type: type, expiresAt: expiresAt, secret: options.secret)
            bytes += record.count
            var command = [Array("SET".utf8), valuePrefix + key, record]
            if let expiresAt { command += [Array("PX".utf8), Array(String(expiresAt - now).utf8)] }
            commands.append(command)
        }
        guard !commands.isEmpty else { return }
        let send: @Sendable () -> Void = { [self, commands, bytes] in
            let sent = pool.exchange { c throws(SharedTierError) -> Bool in
                for reply in try c.pipeline(commands) { try reply.check() }
                return true
            }
            if sent == true {
                counters.add(counters.writes, commands.count)
                counters.add(counters.bytesOut, bytes)
            }
        }
        if let background, !forceSynchronous {
            if !background.enqueue(send) { counters.add(counters.droppedWrites, commands.count) }
        } else {
            send()
        }
    }

    /// The checked value of `key` in Redis; nil (counted) when it is absent, expired, damaged
    /// or forged, or when Redis cannot be asked.
    func fetchShared(_ key: [UInt8], countingMiss: Bool = true) -> SharedRecord.Decoded? {
        let reply = pool.exchange { c throws(SharedTierError) in try c.command([Array("GET".utf8), valuePrefix + key]) }
        guard let reply else { return nil }
        return accept(reply, key: key, countingMiss: countingMiss)
    }

    /// The value a GET or MGET reply holds for `key`, checked and counted.
    private func accept(_ reply: RedisReply, key: [UInt8], countingMiss: Bool = true) -> SharedRecord.Decoded? {
        let bytes: [UInt8]
        switch reply {
        case .string(let b): bytes = b
        case .null:
            if countingMiss { counters.add(counters.misses) }
            return nil
        default:
            counters.add(counters.errors)
            return nil
        }
        counters.add(counters.bytesIn, bytes.count)
        do {
            let decoded = try SharedRecord.decode(bytes, key: key, secret: options.secret, maxValueLength: options.maxValueSize)
            // Decoding a pickle runs code: without a secret, anything that can write to the
            // server could plant one for the Python package to unpickle.
            if decoded.type == .pickle && options.secret == nil { throw SharedRecord.Refusal.pickleWithoutSecret }
            if let at = decoded.expiresAt, at <= options.clock.now() {
                counters.add(counters.misses)
                return nil
            }
            counters.add(counters.hits)
            return decoded
        } catch {
            counters.add(counters.refused)
            counters.add(counters.errors)
            logger.debug("refused a shared value", metadata: ["reason": "\(error)"])
            return nil
        }
    }

    /// Writes values found in Redis into the local store with their own expiries, each only
    /// if the key has no live value by then: a value set locally after the fetch (newer than
    /// the fetched one) stays. A local write that fails (a full disk, say) does not fail the
    /// read that found the value: the value is returned either way, and the next write to the
    /// store reports the disk.
    func keepLocally(_ found: [([UInt8], SharedRecord.Decoded)]) {
        for (key, d) in found {
            _ = try? local.setIfAbsent(d.value, forKey: key, type: d.type, expiresAt: d.expiresAt, zstdFrame: d.zstdFrame)
        }
    }

    private func removeAllShared() -> Int? {
        let pattern = Self.glob(valuePrefix)
        var cursor: [UInt8] = Array("0".utf8)
        var removed = 0
        repeat {
            let step = pool.exchange { c throws(SharedTierError) -> ([UInt8], Int) in
                let reply = try c.command([Array("SCAN".utf8), cursor, Array("MATCH".utf8), pattern, Array("COUNT".utf8), Array("1000".utf8)])
                guard case .array(let parts) = reply, parts.count == 2, case .string(let next) = parts[0],
                      case .array(let keys) = parts[1] else {
                    if case .error(let message) = reply { throw .reply(message) }
                    throw .reply("SCAN answered \(reply.kind)")
                }
                let names = keys.compactMap { if case .string(let k) = $0 { k } else { nil } }
                guard !names.isEmpty else { return (next, 0) }
                guard case .integer(let n) = try c.command([Array("UNLINK".utf8)] + names) else { throw .reply("UNLINK did not answer a count") }
                return (next, Int(n))
            }
            guard let step else { return nil }
            cursor = step.0
            removed += step.1
        } while cursor != Array("0".utf8)
        return removed
    }
}

/// The queue of background writes: one thread sends them in order; a full queue refuses.
final class BackgroundWrites: Sendable {
    private let queue = DispatchQueue(label: "logcache.shared-tier.writes")
    private let pending = Atomic<Int>(0)
    private let limit: Int

    init(limit: Int) { self.limit = limit }

    /// Queues `work`; false when `limit` writes are already waiting.
    func enqueue(_ work: @escaping @Sendable () -> Void) -> Bool {
        guard pending.add(1, ordering: .relaxed).newValue <= limit else {
            pending.subtract(1, ordering: .relaxed)
            return false
        }
        queue.async { [self] in
            work()
            pending.subtract(1, ordering: .relaxed)
        }
        return true
    }

    /// Returns once every write queued so far has run.
    func drain() { queue.sync {} }
}
