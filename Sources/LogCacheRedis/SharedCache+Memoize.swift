import Dispatch
import Foundation
import LogCache

/// Memoization across machines: one computation per key for every machine that shares the
/// tier.
///
/// Within one machine the store's per-key ``MemoLock`` stays in front, so each machine sends
/// one waiter to Redis. That waiter reads the shared value, or takes the key's lease
/// (`SET PREFIX l:KEY TOKEN NX PX leaseDuration`), computes while a thread renews the lease
/// every third of its duration, stores the result locally and in Redis, and only then
/// deletes the lease. A waiter that finds the lease held polls for the value with pauses
/// that grow from 2 to 100 ms; when the lease is gone without a value (its holder died, or
/// its computation failed), the next waiter takes it. Redis that cannot be reached makes a
/// machine compute on its own, never fail.
extension SharedCache {
    /// The stored result of `compute` for `request`, computing it once across every machine
    /// that shares the tier. The key, version and TTL are those of
    /// ``CacheStore/memoize(namespace:version:key:excluding:ttl:errors:compute:)-(_,_,_,_,_,_,()->Value)``;
    /// failures are not stored, on either tier. Waiting blocks the calling thread.
    public func memoize<Request: Encodable, Value: Codable>(
        namespace: String, version: String, key request: Request, excluding: Set<String> = [],
        ttl: Duration? = nil, compute: () throws -> Value
    ) throws -> Value {
        let key = try MemoKey(namespace: namespace, version: version, request: request, excluding: excluding)
        return try memoize(key, ttl: ttl, compute: compute)
    }

    /// The stored result of `compute` under a key made beforehand, computed once across
    /// every machine that shares the tier.
    public func memoize<Value: Codable>(_ key: MemoKey, ttl: Duration? = nil, compute: () throws -> Value) throws -> Value {
        if let hit: Value = try localResult(key) { return hit }
        let lock = try MemoLock.acquire(storeDirectory: local.directory, key: key)
        defer { lock.release() }
        if let hit: Value = try localResult(key) { return hit }

        let storeKey = Array(key.storeKey.utf8)
        let token = Self.leaseToken()
        var leased = false
        var waited = false
        var pause = Duration.milliseconds(2)
        waiting: while true {
            if let hit: Value = try sharedResult(key, storeKey, counting: !waited) {
                if waited { counters.add(counters.leaseWaits) }
                return hit
            }
            switch takeLease(storeKey, token) {
            case .taken:
                // The holder before may have shared its result and let the lease go between
                // the read above and the lease: look once more before computing.
                if let hit: Value = try sharedResult(key, storeKey, counting: false) {
                    releaseLease(storeKey, token)
                    if waited { counters.add(counters.leaseWaits) }
                    return hit
                }
                leased = true
                if waited { counters.add(counters.leaseTakeovers) }
                break waiting
            case .unavailable, .unshared:
                break waiting
            case .held:
                waited = true
                Thread.sleep(forTimeInterval: Double(pause.components.attoseconds) / 1e18 + Double(pause.components.seconds))
                pause = min(pause * 3 / 2, .milliseconds(100))
            }
        }

        let renewal = leased ? LeaseRenewal(cache: self, key: storeKey, token: token) : nil
        defer {
            renewal?.stop()
            if leased { releaseLease(storeKey, token) }
        }
        let started = ContinuousClock.now
        let value: Value
        do {
            value = try compute()
        } catch {
            local.countMemoizedFailure(for: key, computeTime: ContinuousClock.now - started)
            throw error
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json: [UInt8]
        do {
            json = [UInt8](try encoder.encode(value))
        } catch {
            throw CacheError.coding("the result of type \(Value.self) cannot be encoded as JSON: \(error)")
        }
        try local.storeMemoizedResult(json: json, for: key, computeTime: ContinuousClock.now - started, ttl: ttl)
        guard let entry = try local.typedValue(forKey: storeKey) else { return value }
        if leased {
            if entry.value.count > options.maxValueSize {
                // Too large to share: tell the waiters to compute on their own rather than
                // wait for a value that will never come, one machine after another.
                markUnshared(storeKey, token)
                leased = false
            } else {
                // Before the lease goes: a waiter that sees no lease and no value computes again.
                share([(storeKey, entry.value, entry.type)], expiresAt: expiry(ttl), forceSynchronous: true)
                counters.add(counters.leasedComputations)
            }
        } else {
            share([(storeKey, entry.value, entry.type)], expiresAt: expiry(ttl))
        }
        return value
    }

    /// The result stored locally for `key`, decoded; nil on a miss or for a result of another
    /// type (which is then computed again). A cached failure is thrown.
    private func localResult<Value: Decodable>(_ key: MemoKey) throws -> Value? {
        switch try local.memoizedResult(for: key) {
        case nil:
            return nil
        case .value(let json, _):
            return try? JSONDecoder().decode(Value.self, from: Data(json))
        case .failure(let message, _):
            throw MemoError.cachedFailure(namespace: key.namespace, message: message)
        }
    }

    /// The shared result of `key`, kept locally and decoded; nil when Redis has none (or
    /// one of another type).
    private func sharedResult<Value: Decodable>(_ key: MemoKey, _ storeKey: [UInt8], counting: Bool) throws -> Value? {
        guard let found = fetchShared(storeKey, countingMiss: counting) else { return nil }
        keepLocally([(storeKey, found)])
        return try localResult(key)
    }

    /// What taking a lease found.
    enum LeaseState {
        /// This waiter holds the lease now.
        case taken
        /// Another machine holds it.
        case held
        /// Another machine computed a result too large to share: compute here.
        case unshared
        /// Redis could not be asked.
        case unavailable
    }

    /// The lease's value once its holder computed a result it could not share.
    static let unsharedMarker = Array("unshared".utf8)

    func takeLease(_ key: [UInt8], _ token: [UInt8]) -> LeaseState {
        let ms = Array(String(Self.milliseconds(options.leaseDuration)).utf8)
        // SET NX, and when it is refused, the holder's token in the same round trip.
        let replies = pool.exchange { c throws(SharedTierError) -> [RedisReply] in
            let r = try c.pipeline([[Array("SET".utf8), leasePrefix + key, token, Array("NX".utf8), Array("PX".utf8), ms],
                                    [Array("GET".utf8), leasePrefix + key]])
            for reply in r { try reply.check() }
            return r
        }
        guard let replies, replies.count == 2 else { return .unavailable }
        switch replies[0] {
        case .status: return .taken
        case .null: return replies[1] == .string(Self.unsharedMarker) ? .unshared : .held
        default: return .unavailable
        }
    }

    /// Replaces this holder's lease by the marker that sends waiters to compute on their own.
    func markUnshared(_ key: [UInt8], _ token: [UInt8]) {
        let script = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('set', KEYS[1], ARGV[2], 'PX', ARGV[3]) else return 0 end"
        let ms = Array(String(Self.milliseconds(options.leaseDuration)).utf8)
        _ = pool.exchange { c throws(SharedTierError) in
            try c.command([Array("EVAL".utf8), Array(script.utf8), Array("1".utf8), leasePrefix + key, token,
                           Self.unsharedMarker, ms]).check()
        }
    }

    /// Extends the lease if this holder still has it.
    func renewLease(_ key: [UInt8], _ token: [UInt8]) {
        let script = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"
        let ms = Array(String(Self.milliseconds(options.leaseDuration)).utf8)
        // Even while other callers skip a Redis that timed out: a lease that lapses lets
        // another machine compute the same key.
        _ = pool.exchange(ignoringPause: true) { c throws(SharedTierError) in
            try c.command([Array("EVAL".utf8), Array(script.utf8), Array("1".utf8), leasePrefix + key, token, ms]).check()
        }
    }

    /// Deletes the lease if this holder still has it (one that expired may be another's now).
    func releaseLease(_ key: [UInt8], _ token: [UInt8]) {
        let script = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"
        _ = pool.exchange { c throws(SharedTierError) in
            try c.command([Array("EVAL".utf8), Array(script.utf8), Array("1".utf8), leasePrefix + key, token]).check()
        }
    }

    static func milliseconds(_ d: Duration) -> Int64 {
        let (s, atto) = d.components
        return max(1, s.multipliedReportingOverflow(by: 1000).partialValue + atto / 1_000_000_000_000_000)
    }

    /// A token no other holder has: the host, the process and 128 random bits.
    static func leaseToken() -> [UInt8] {
        var g = SystemRandomNumberGenerator()
        let random = (0..<2).map { _ in String(g.next() as UInt64, radix: 16) }.joined(separator: "")
        // gethostname, not ProcessInfo's hostName, which may ask the resolver.
        var name = [CChar](repeating: 0, count: 256)
        let host = gethostname(&name, name.count - 1) == 0 ? String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "host"
        return Array("\(host)/\(getpid())/\(random)".utf8)
    }
}

/// The thread that renews a lease every third of its duration until stopped.
final class LeaseRenewal: @unchecked Sendable {
    private let stopped = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)

    init(cache: SharedCache, key: [UInt8], token: [UInt8]) {
        let interval = Double(SharedCache.milliseconds(cache.options.leaseDuration)) / 3000
        let thread = Thread { [stopped, finished] in
            while stopped.wait(timeout: .now() + interval) == .timedOut {
                cache.renewLease(key, token)
            }
            finished.signal()
        }
        thread.name = "logcache.lease-renewal"
        thread.start()
    }

    /// Stops the renewals and waits for the thread to end.
    func stop() {
        stopped.signal()
        finished.wait()
    }
}
