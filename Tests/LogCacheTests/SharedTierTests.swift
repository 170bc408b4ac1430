import Foundation
import Logging
import Synchronization
import Testing
@testable import LogCache
@testable import LogCacheRedis

/// Two stores in two directories stand for two machines sharing one Redis.
struct TwoMachines {
    let dir = TemporaryDirectory("machines")
    let redis: RedisServer
    let a: SharedCache
    let b: SharedCache

    init(configure: (inout SharedTierOptions) -> Void = { _ in }) throws {
        redis = try RedisServer()
        var options = try SharedTierOptions(url: redis.url)
        configure(&options)
        a = try SharedCache(local: try CacheStore(directory: dir.file("a")), options: options)
        b = try SharedCache(local: try CacheStore(directory: dir.file("b")), options: options)
    }

    func cleanup() {
        a.close()
        b.close()
        try? a.local.close()
        try? b.local.close()
        redis.stop()
        dir.cleanup()
    }
}

@Suite("Shared tier: the Redis URL")
struct RedisURLTests {
    @Test("The forms of a Redis URL parse into their parts")
    func parses() throws {
        #expect(try RedisURL("redis://localhost") == RedisURL(endpoint: .tcp(host: "localhost", port: 6379)))
        #expect(try RedisURL("redis://10.0.0.5:6380/3") == RedisURL(endpoint: .tcp(host: "10.0.0.5", port: 6380), database: 3))
        #expect(try RedisURL("redis://:s%40cret@h:1") == RedisURL(endpoint: .tcp(host: "h", port: 1), password: "s@cret"))
        #expect(try RedisURL("redis://app:pw@h/0") == RedisURL(endpoint: .tcp(host: "h", port: 6379), user: "app", password: "pw"))
        #expect(try RedisURL("redis://[::1]:7000") == RedisURL(endpoint: .tcp(host: "::1", port: 7000)))
        #expect(try RedisURL("unix:///run/redis.sock?db=2") == RedisURL(endpoint: .unix(path: "/run/redis.sock"), database: 2))
        // The password never shows.
        #expect(try RedisURL("redis://app:pw@h/0").description == "redis://app:***@h:6379/0")
    }

    @Test("A URL that cannot work is refused with a reason, and TLS is refused with the way around it")
    func refuses() {
        for (text, reason) in [("rediss://h:6380", "TLS"), ("http://h", "redis://"), ("redis://h:99999", "65535"),
                               ("redis://h:x", "port"), ("redis://h/db", "database"), ("unix://relative", "absolute"),
                               ("redis://:p%zz@h", "hex"), ("redis://", "no host")] {
            #expect {
                _ = try RedisURL(text)
            } throws: { error in
                "\(error)".contains(reason)
            }
        }
        // A password in a URL that does not parse is hidden in the message.
        #expect {
            _ = try RedisURL("redis://user:hunter2@h:bad")
        } throws: { error in
            !"\(error)".contains("hunter2")
        }
    }
}

@Suite("Shared tier: the values' encoding in Redis")
struct SharedRecordTests {
    let key = Array("k".utf8)

    @Test("A value round-trips with its type and expiry, compressed or not")
    func roundTrip() throws {
        for value in [[UInt8](), Array("short".utf8), [UInt8](repeating: 7, count: 5000)] {
            for secret in [nil, Array("s3".utf8)] {
                let bytes = SharedRecord.encode(key: key, value: value, type: .json, expiresAt: 1_800_000_000_000, secret: secret)
                let d = try SharedRecord.decode(bytes, key: key, secret: secret, maxValueLength: 1 << 20)
                #expect(d.value == value && d.type == .json && d.expiresAt == 1_800_000_000_000)
            }
        }
        let big = SharedRecord.encode(key: key, value: [UInt8](repeating: 7, count: 5000), type: .bytes, expiresAt: nil, secret: nil)
        #expect(big.count < 1000, "a compressible value is stored compressed")
    }

    @Test("Every damaged byte and every truncation is refused, never decoded into another value")
    func damaged() {
        var generator = SeededGenerator(seed: 9)
        let random = (0..<600).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let text = Array(String(repeating: "the same answer again, ", count: 30).utf8)
        let secret3: [UInt8]? = Array("s3".utf8)
        let cases: [(value: [UInt8], secret: [UInt8]?)] = [(random, nil), (random, secret3), (text, nil), (text, secret3)]
        for (value, secret) in cases {
            let bytes = SharedRecord.encode(key: key, value: value, type: .bytes, expiresAt: nil, secret: secret)
            if value == text { #expect(bytes[5] == SharedRecord.Codec.zstd.rawValue, "the text is stored compressed") }
            for i in bytes.indices {
                var bad = bytes
                bad[i] ^= 0x20
                #expect(throws: SharedRecord.Refusal.self) {
                    try SharedRecord.decode(bad, key: key, secret: secret, maxValueLength: 1 << 20)
                }
            }
            for n in 0..<bytes.count {
                #expect(throws: SharedRecord.Refusal.self) {
                    try SharedRecord.decode(Array(bytes[0..<n]), key: key, secret: secret, maxValueLength: 1 << 20)
                }
            }
            // The value of another key, and a hostile length over the limit.
            #expect(throws: SharedRecord.Refusal.self) { try SharedRecord.decode(bytes, key: Array("j".utf8), secret: secret, maxValueLength: 1 << 20) }
            #expect(throws: SharedRecord.Refusal.self) { try SharedRecord.decode(bytes, key: key, secret: secret, maxValueLength: 100) }
        }
    }

    @Test("With a secret, a value written without it (untagged, or tagged with another) is refused")
    func forged() throws {
        let secret = Array("team secret".utf8)
        let untagged = SharedRecord.encode(key: key, value: Array("evil".utf8), type: .bytes, expiresAt: nil, secret: nil)
        #expect(throws: SharedRecord.Refusal.self) { try SharedRecord.decode(untagged, key: key, secret: secret, maxValueLength: 1 << 20) }
        let other = SharedRecord.encode(key: key, value: Array("evil".utf8), type: .bytes, expiresAt: nil, secret: Array("guess".utf8))
        #expect(throws: SharedRecord.Refusal.self) { try SharedRecord.decode(other, key: key, secret: secret, maxValueLength: 1 << 20) }
    }

    @Test("HMAC-SHA-256 gives RFC 4231's tags")
    func hmacVectors() {
        let tag1 = [UInt8]("Hi There".utf8).withUnsafeBytes { HMACSHA256.tag(key: [UInt8](repeating: 0x0b, count: 20), $0) }
        #expect(SHA256.hex(tag1) == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        let tag2 = [UInt8]("what do ya want for nothing?".utf8).withUnsafeBytes { HMACSHA256.tag(key: Array("Jefe".utf8), $0) }
        #expect(SHA256.hex(tag2) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        // A key longer than the block is hashed first (test case 6).
        let tag6 = [UInt8]("Test Using Larger Than Block-Size Key - Hash Key First".utf8).withUnsafeBytes {
            HMACSHA256.tag(key: [UInt8](repeating: 0xaa, count: 131), $0)
        }
        #expect(SHA256.hex(tag6) == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    }
}

@Suite("Shared tier: two machines through one Redis")
struct SharedTierTests {
    @Test("A value set on one machine is read on the other, which keeps it locally")
    func readThrough() throws {
        let m = try TwoMachines()
        defer { m.cleanup() }
        try m.a.set(Array("answer".utf8), forKey: "q1", type: .text)
        #expect(try m.b.local.value(forKey: "q1") == nil)
        let found = try m.b.typedValue(forKey: Array("q1".utf8))
        #expect(found?.value == Array("answer".utf8) && found?.type == .text)
        #expect(try m.b.local.value(forKey: "q1") == Array("answer".utf8), "the shared hit is kept in the local store")
        #expect(m.b.sharedStatistics.hits == 1)
        // The next read is a local hit: no round trip.
        let trips = m.b.sharedStatistics.roundTrips
        #expect(try m.b.value(forKey: "q1") == Array("answer".utf8))
        #expect(m.b.sharedStatistics.roundTrips == trips)
        // A key nobody set is a miss on both tiers.
        #expect(try m.b.value(forKey: "nobody") == nil)
        #expect(m.b.sharedStatistics.misses == 1)
        #expect(m.a.sharedStatistics.writes == 1 && m.a.sharedStatistics.bytesOut > 0)
    }

    @Test("The TTL carries over: the other machine's copy expires when the first one does")
    func ttlCarriesOver() throws {
        let m = try TwoMachines()
        defer { m.cleanup() }
        try m.a.set(Array("v".utf8), forKey: "long", ttl: .seconds(600))
        try m.a.set(Array("v".utf8), forKey: "short", ttl: .milliseconds(400))
        let expiryOnA = try #require(try m.a.local.entries(prefix: Array("long".utf8)).first?.expiresAt)
        #expect(try m.b.value(forKey: "long") != nil)
        let expiryOnB = try #require(try m.b.local.entries(prefix: Array("long".utf8)).first?.expiresAt)
        #expect(abs(expiryOnA - expiryOnB) < 1000, "expiries \(expiryOnA) and \(expiryOnB)")
        // Redis keeps the value as long as the TTL: PX is set.
        guard case .integer(let pttl) = try m.redis.command(["PTTL", "logcache:v:long"]) else { Issue.record("no PTTL"); return }
        #expect(pttl > 590_000 && pttl <= 600_000)
        Thread.sleep(forTimeInterval: 0.6)
        #expect(try m.b.value(forKey: "short") == nil)
        #expect(try m.redis.command(["EXISTS", "logcache:v:short"]) == .integer(0))
    }

    @Test("A damaged value under the prefix is a counted miss; a forged one too when there is a secret")
    func damagedIsMiss() throws {
        let m = try TwoMachines { $0.secret = Array("team secret".utf8) }
        defer { m.cleanup() }
        try m.a.set(Array("precious".utf8), forKey: "k")
        guard case .string(var stored) = try m.redis.command(["GET", "logcache:v:k"]) else { Issue.record("not stored"); return }
        stored[stored.count / 2] ^= 1
        try m.redis.rawCommand([Array("SET".utf8), Array("logcache:v:k".utf8), stored]).check()
        #expect(try m.b.value(forKey: "k") == nil)
        // Something without the secret writes a well-formed value under the prefix.
        let forged = SharedRecord.encode(key: Array("admin".utf8), value: Array("evil".utf8), type: .bytes, expiresAt: nil, secret: nil)
        try m.redis.rawCommand([Array("SET".utf8), Array("logcache:v:admin".utf8), forged]).check()
        #expect(try m.b.value(forKey: "admin") == nil)
        // Garbage too.
        try m.redis.command(["SET", "logcache:v:junk", "not a value"]).check()
        #expect(try m.b.value(forKey: "junk") == nil)
        #expect(m.b.sharedStatistics.refused == 3 && m.b.sharedStatistics.errors == 3)
        #expect(try m.b.local.value(forKey: "k") == nil && m.b.local.statistics.entries == 0)
        // The writer's own copy is untouched.
        #expect(try m.a.value(forKey: "k") == Array("precious".utf8))
    }

    @Test("Batches: many values set in one pipeline, read with one MGET")
    func batches() throws {
        let m = try TwoMachines()
        defer { m.cleanup() }
        let entries = (0..<50).map { (key: Array("b\($0)".utf8), value: Array("value \($0)".utf8), type: ValueType.bytes) }
        try m.a.setValues(entries, ttl: .seconds(60))
        #expect(m.a.sharedStatistics.roundTrips == 1 && m.a.sharedStatistics.writes == 50)
        try m.b.set(Array("local".utf8), forKey: "b0")
        let keys = entries.map(\.key) + [Array("absent".utf8)]
        let trips = m.b.sharedStatistics.roundTrips
        let found = try m.b.values(forKeys: keys)
        #expect(m.b.sharedStatistics.roundTrips == trips + 1)
        #expect(found[0] == Array("local".utf8), "a local value comes first")
        for i in 1..<50 { #expect(found[i] == Array("value \(i)".utf8)) }
        #expect(found[50] == nil)
        #expect(try m.b.local.value(forKey: "b7") == Array("value 7".utf8))
    }

    @Test("A value over the size limit stays local")
    func largeStaysLocal() throws {
        let m = try TwoMachines { $0.maxValueSize = 1000 }
        defer { m.cleanup() }
        try m.a.set([UInt8](repeating: 1, count: 1001), forKey: "big")
        try m.a.set([UInt8](repeating: 1, count: 1000), forKey: "fits")
        #expect(m.a.sharedStatistics.skippedLarge == 1)
        #expect(try m.a.value(forKey: "big")?.count == 1001)
        #expect(try m.b.value(forKey: "big") == nil)
        #expect(try m.b.value(forKey: "fits")?.count == 1000)
    }

    @Test("Removing is local unless asked for everywhere")
    func removal() throws {
        let m = try TwoMachines()
        defer { m.cleanup() }
        for k in ["x", "y", "z"] { try m.a.set(Array(k.utf8), forKey: k) }
        #expect(try m.a.removeValue(forKey: "x"))
        #expect(try m.b.value(forKey: "x") != nil, "a local removal leaves the shared value")
        #expect(try m.a.removeValue(forKey: "y", everywhere: true))
        #expect(try m.b.value(forKey: "y") == nil)
        // Another prefix on the same server is left alone by removeAll.
        try m.redis.command(["SET", "other:v:z", "theirs"]).check()
        let removed = try m.a.removeAll(everywhere: true)
        #expect(removed.local == 1 && removed.shared == 2)
        #expect(try m.b.value(forKey: "z") == nil, "z is gone from Redis, and b never read it")
        #expect(try m.redis.command(["GET", "other:v:z"]) == .string(Array("theirs".utf8)))
    }

    @Test("Background writes reach Redis after flush, and a full queue drops and counts")
    func background() throws {
        let m = try TwoMachines {
            $0.writeMode = .background(queueLimit: 2)
            // The paused server holds the first queued write for this long, so that the
            // queue stays full while the writes below are made.
            $0.commandTimeout = .seconds(3)
        }
        defer { m.cleanup() }
        try m.a.set(Array("v".utf8), forKey: "bg")
        m.a.flush()
        #expect(try m.b.value(forKey: "bg") == Array("v".utf8))
        // A server that hangs holds the queue: later writes are dropped, every value stays local.
        m.redis.pause()
        for i in 0..<20 { try m.a.set(Array("v".utf8), forKey: "held\(i)") }
        m.redis.resume()
        m.a.flush()
        #expect(m.a.sharedStatistics.droppedWrites >= 15)
        for i in 0..<20 { #expect(try m.a.local.value(forKey: "held\(i)") == Array("v".utf8)) }
    }
}

/// Collects what the tier logs.
final class CollectedLog: Sendable {
    let lines = Mutex<[(Logger.Level, String)]>([])

    func handler(label: String) -> any LogHandler { Handler(log: self) }

    struct Handler: LogHandler {
        let log: CollectedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            log.lines.withLock { $0.append((event.level, event.message.description)) }
        }
    }
}

@Suite("Shared tier: Redis down, slow or restarted")
struct SharedTierFailureTests {
    @Test("Redis killed in the middle of a run: no error reaches the caller, no local value is lost; restarted, sharing resumes")
    func killedAndRestarted() throws {
        let log = CollectedLog()
        let m = try TwoMachines {
            $0.logger = Logger(label: "test", factory: log.handler)
            $0.reconnectDelay = .milliseconds(20)
            $0.maxReconnectDelay = .milliseconds(100)
        }
        defer { m.cleanup() }
        for i in 0..<400 {
            if i == 200 { m.redis.kill() }
            try m.a.set(Array("value \(i)".utf8), forKey: "k\(i)")
            _ = try m.a.value(forKey: "absent\(i)")
        }
        for i in 0..<400 { #expect(try m.a.value(forKey: "k\(i)") == Array("value \(i)".utf8)) }
        #expect(try m.b.value(forKey: "k10") == nil, "Redis is down: b cannot see a's values")
        let s = m.a.sharedStatistics
        #expect(s.errors > 0 && !s.reachable && s.disconnects == 1)
        let warnings = log.lines.withLock { $0.filter { $0.1.contains("unreachable") } }
        #expect(warnings.count == 2, "one message per handle that saw Redis go: \(warnings)")
        #expect(warnings.allSatisfy { $0.0 == .info })

        try m.redis.start()
        Thread.sleep(forTimeInterval: 0.15)
        try m.a.set(Array("after".utf8), forKey: "restarted")
        #expect(try m.b.value(forKey: "restarted") == Array("after".utf8))
        #expect(m.a.sharedStatistics.reachable)
        #expect(log.lines.withLock { $0.filter { $0.1.contains("reachable again") }.count } == 2)
    }

    @Test("Redis that is not there costs one connection attempt, not one per call")
    func notThere() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.file("s"))
        defer { try? store.close() }
        let cache = try SharedCache(local: store, options: try SharedTierOptions(url: "redis://127.0.0.1:\(try RedisServer.freePort())"))
        let started = ContinuousClock.now
        for i in 0..<1000 {
            try cache.set(Array("v".utf8), forKey: "k\(i)")
            #expect(try cache.value(forKey: "k\(i)") == Array("v".utf8))
            _ = try cache.value(forKey: "missing\(i)")
        }
        // 2000 calls that would ask Redis: one connection attempt per pause (100 ms, then
        // doubling), not one per call.
        let elapsed = ContinuousClock.now - started
        let s = cache.sharedStatistics
        #expect(s.errors >= 1000 && s.roundTrips == 0)
        #expect(s.connects >= 1 && s.connects <= 2 + Int(elapsed / .milliseconds(100)), "\(s.connects) attempts in \(elapsed)")
    }

    @Test("Redis that hangs: each call gives up after the command timeout and works locally")
    func hangs() throws {
        let m = try TwoMachines { $0.commandTimeout = .milliseconds(100) }
        defer { m.cleanup() }
        try m.a.set(Array("v".utf8), forKey: "before")
        m.redis.pause()
        let started = ContinuousClock.now
        try m.a.set(Array("v".utf8), forKey: "during")
        #expect(try m.a.value(forKey: "during") == Array("v".utf8))
        #expect(try m.b.value(forKey: "before") == nil)
        #expect(ContinuousClock.now - started < .seconds(2))
        m.redis.resume()
        #expect(m.a.sharedStatistics.errors >= 1)
    }
}

@Suite("Shared tier: memoizing across machines")
struct SharedMemoizeTests {
    static func computations(_ log: String) throws -> [String] {
        try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    @Test("Four processes on two machines memoize one key at once: one computation in all")
    func computeOnce() throws {
        let redis = try RedisServer()
        let dir = TemporaryDirectory()
        defer { redis.stop(); dir.cleanup() }
        let log = dir.file("computations.log")
        #expect(FileManager.default.createFile(atPath: log, contents: nil))
        let workers = try (0..<4).map { i in
            try WorkerProcess(["shared-memoize", dir.file(i % 2 == 0 ? "a" : "b"), redis.url, "q1", "1500", log, "2000"])
        }
        defer { workers.forEach { $0.kill() } }
        for w in workers {
            #expect(w.waitForExit(timeout: .seconds(60)) == 0, "\(w.lines)")
            #expect(w.lines.last == "result result of q1")
        }
        #expect(try Self.computations(log).count == 1)
        // Each machine sent one waiter to Redis; one held the lease, the other waited for it.
        let stats = workers.flatMap(\.lines).filter { $0.hasPrefix("stats") }
        #expect(stats.filter { $0.contains("leased=1") }.count == 1, "\(stats)")
    }

    @Test("The computing process is killed: another machine takes over once the lease expires")
    func killedComputer() throws {
        let redis = try RedisServer()
        let dir = TemporaryDirectory()
        defer { redis.stop(); dir.cleanup() }
        let log = dir.file("computations.log")
        #expect(FileManager.default.createFile(atPath: log, contents: nil))
        let first = try WorkerProcess(["shared-memoize", dir.file("a"), redis.url, "q2", "30000", log, "1500"])
        defer { first.kill() }
        #expect(first.waitForLine("computing", timeout: .seconds(30)) != nil)
        let second = try WorkerProcess(["shared-memoize", dir.file("b"), redis.url, "q2", "200", log, "1500"])
        defer { second.kill() }
        // The second waits while the first renews its lease (every 500 ms), past the lease's
        // own 1.5 s.
        Thread.sleep(forTimeInterval: 2.5)
        #expect(try Self.computations(log).count == 1, "the second did not wait for the lease")
        let started = ContinuousClock.now
        first.kill()
        #expect(second.waitForExit(timeout: .seconds(30)) == 0, "\(second.lines)")
        #expect(second.lines.last == "result result of q2")
        #expect(second.lines.contains { $0.contains("takeovers=1") }, "\(second.lines)")
        #expect(ContinuousClock.now - started < .seconds(10))
        #expect(try Self.computations(log).count == 2)
    }

    @Test("In one process: a memoized result is a shared hit on the other machine, decoded")
    func inProcess() throws {
        let m = try TwoMachines()
        defer { m.cleanup() }
        let calls = CallCounter()
        let first = try m.a.memoize(namespace: "llm", version: "1", key: ["prompt": "hi"]) { () throws -> Answer in
            calls.call()
            return Answer(text: "hello", tokens: 3)
        }
        let second = try m.b.memoize(namespace: "llm", version: "1", key: ["prompt": "hi"]) { () throws -> Answer in
            calls.call()
            return Answer(text: "other", tokens: 0)
        }
        #expect(first == second && calls.value == 1)
        // The local store of b now answers on its own, also through the store's own memoize.
        let third = try m.b.local.memoize(namespace: "llm", version: "1", key: ["prompt": "hi"]) { () throws -> Answer in
            calls.call()
            return Answer(text: "other", tokens: 0)
        }
        #expect(third == first && calls.value == 1)
        // With Redis gone, a new key is computed locally, without an error.
        m.redis.kill()
        let alone = try m.b.memoize(namespace: "llm", version: "1", key: ["prompt": "new"]) { () throws -> Answer in
            calls.call()
            return Answer(text: "alone", tokens: 1)
        }
        #expect(alone.text == "alone" && calls.value == 2)
    }
}

@Suite("Shared tier: cachectl --redis")
struct CacheCtlSharedTierTests {
    @Test("put on one machine, get on another through --redis or LOGCACHE_REDIS_URL; stats shows the server")
    func putGetStats() throws {
        let redis = try RedisServer()
        let dir = TemporaryDirectory()
        defer { redis.stop(); dir.cleanup() }
        let a = dir.file("a"), b = dir.file("b")
        let put = try CacheCtlBinary.run(["put", a, "greeting", "hello", "--ttl", "600", "--redis", redis.url])
        #expect(put.status == 0, "\(put.err)")
        #expect(try CacheCtlBinary.run(["init", b]).status == 0)
        #expect(try CacheCtlBinary.run(["get", b, "greeting"]).status == 1, "b has no local copy yet")
        let get = try CacheCtlBinary.run(["get", b, "greeting"], environment: ["LOGCACHE_REDIS_URL": redis.url])
        #expect(get.status == 0 && get.out == "hello", "\(get.err)")
        #expect(try CacheCtlBinary.run(["get", b, "greeting"]).out == "hello", "the shared hit was kept locally")
        let stats = try CacheCtlBinary.run(["stats", b, "--redis", redis.url, "--json"])
        #expect(stats.status == 0, "\(stats.err)")
        let object = try JSONSerialization.jsonObject(with: Data(stats.out.utf8)) as? [String: Any]
        let tier = object?["sharedTier"] as? [String: Any]
        #expect(tier?["reachable"] as? Bool == true && tier?["sharedValues"] as? Int == 1 && tier?["leases"] as? Int == 0)

        // Redis gone: put still stores locally and says the value did not reach the tier.
        redis.kill()
        let alone = try CacheCtlBinary.run(["put", a, "later", "v", "--redis", redis.url])
        #expect(alone.status == 0 && alone.err.contains("did not take it"), "\(alone.err)")
        #expect(try CacheCtlBinary.run(["get", a, "later"]).out == "v")
        let down = try CacheCtlBinary.run(["stats", a, "--redis", redis.url])
        #expect(down.status == 0 && down.out.contains("reachable") && down.out.contains("no:"), "\(down.out)")
        let bad = try CacheCtlBinary.run(["get", a, "later", "--redis", "rediss://h"])
        #expect(bad.status != 0 && bad.err.contains("TLS"), "\(bad.err)")
    }
}

@Suite("Shared tier: logins and sockets")
struct SharedTierConnectionTests {
    @Test("A password in the URL logs in; a wrong one is a counted failure that works locally")
    func password() throws {
        let redis = try RedisServer(arguments: ["--requirepass", "s3cret"])
        let dir = TemporaryDirectory()
        defer { redis.stop(); dir.cleanup() }
        let store = try CacheStore(directory: dir.file("s"))
        defer { try? store.close() }
        let good = try SharedCache(local: store, options: try SharedTierOptions(url: "redis://:s3cret@127.0.0.1:\(redis.port)/2"))
        try good.set(Array("v".utf8), forKey: "k")
        #expect(good.sharedStatistics.writes == 1 && good.sharedStatistics.errors == 0)
        let wrong = try SharedCache(local: store, options: try SharedTierOptions(url: "redis://:nope@127.0.0.1:\(redis.port)/2"))
        try wrong.set(Array("v".utf8), forKey: "k2")
        #expect(wrong.sharedStatistics.writes == 0 && wrong.sharedStatistics.errors == 1)
        guard case .failure(let error) = wrong.ping() else { Issue.record("a wrong password was accepted"); return }
        #expect("\(error)".contains("refused the login"))
    }

    @Test("A unix:// URL reaches a server on a Unix socket")
    func unixSocket() throws {
        let socketDir = TemporaryDirectory()
        let path = socketDir.file("redis.sock")
        let redis = try RedisServer(arguments: ["--unixsocket", path])
        let dir = TemporaryDirectory()
        defer { redis.stop(); dir.cleanup(); socketDir.cleanup() }
        let a = try SharedCache(local: try CacheStore(directory: dir.file("a")), options: try SharedTierOptions(url: "unix://\(path)"))
        let b = try SharedCache(local: try CacheStore(directory: dir.file("b")), options: try SharedTierOptions(url: "redis://127.0.0.1:\(redis.port)"))
        defer { try? a.local.close(); try? b.local.close() }
        try a.set(Array("over the socket".utf8), forKey: "k")
        #expect(try b.value(forKey: "k") == Array("over the socket".utf8))
    }
}

@Suite("Shared tier: races and edges")
struct SharedTierEdgeTests {
    @Test("A value fetched from Redis never overwrites one set locally after the fetch")
    func writeBackKeepsNewer() throws {
        let m = try TwoMachines()
        defer { m.cleanup() }
        try m.a.set(Array("old".utf8), forKey: "k")
        // b fetches the old value; b's own newer write lands before the write-back would.
        let fetched = try #require(m.b.fetchShared(Array("k".utf8)))
        try m.b.local.set(Array("new".utf8), forKey: "k")
        m.b.keepLocally([(Array("k".utf8), fetched)])
        #expect(try m.b.local.value(forKey: "k") == Array("new".utf8))
        // Without a local value, the write-back is made.
        try m.a.set(Array("other".utf8), forKey: "j")
        #expect(try m.b.value(forKey: "j") == Array("other".utf8))
        #expect(try m.b.local.value(forKey: "j") == Array("other".utf8))
    }

    @Test("A compressed shared value is kept locally as the zstd frame it came in, not compressed again")
    func writeBackKeepsFrame() throws {
        let m = try TwoMachines()
        defer { m.cleanup() }
        let value = Array((0..<800).map { "{\"i\":\($0),\"text\":\"token \($0 % 97) of the answer\"}" }.joined().utf8)
        try m.a.set(value, forKey: "big", type: .json)
        #expect(try m.b.value(forKey: "big") == value)
        // What a wrote to Redis: the same encoder, the same bytes.
        let shared = SharedRecord.encode(key: Array("big".utf8), value: value, type: .json, expiresAt: nil, secret: nil)
        #expect(shared[5] == SharedRecord.Codec.zstd.rawValue)
        let sharedStored = (24..<28).reduce(0) { $0 | Int(shared[$1]) << (8 * ($1 - 24)) }
        let kept = try #require(try m.b.local.entries(prefix: Array("big".utf8), limit: 1).first)
        #expect(kept.storedLength == sharedStored && kept.rawLength == value.count && kept.valueType == .json)
        // The record is sound: another handle reads it, checksum and decompression checked.
        let other = try CacheStore(directory: m.b.local.directory)
        #expect(try other.typedValue(forKey: Array("big".utf8))?.value == value)
        try other.close()
    }

    @Test("A store that does not use zstd keeps a shared value in its own codec")
    func writeBackOtherCodec() throws {
        let m = try TwoMachines()
        defer { m.cleanup() }
        let lz4 = try CacheStore(directory: m.dir.file("c"), options: Options(compression: .lz4))
        let c = try SharedCache(local: lz4, options: try SharedTierOptions(url: m.redis.url))
        defer {
            c.close()
            try? lz4.close()
        }
        let value = Array((0..<800).map { "line \($0 % 50) of a long answer\n" }.joined().utf8)
        try m.a.set(value, forKey: "big")
        #expect(try c.value(forKey: "big") == value)
        let kept = try #require(try lz4.entries(prefix: Array("big".utf8), limit: 1).first)
        #expect(kept.rawLength == value.count && kept.storedLength < value.count)
        let other = try CacheStore(directory: lz4.directory)
        #expect(try other.value(forKey: "big") == value)
        try other.close()
    }

    @Test("In background mode a removal everywhere is not undone by a write still queued")
    func backgroundRemoval() throws {
        let m = try TwoMachines { $0.writeMode = .background(queueLimit: 1000) }
        defer { m.cleanup() }
        for i in 0..<200 { try m.a.set(Array("v".utf8), forKey: "k\(i % 5)") }
        #expect(try m.a.removeValue(forKey: "k3", everywhere: true))
        m.a.flush()
        #expect(try m.redis.command(["EXISTS", "logcache:v:k3"]) == .integer(0))
        #expect(try m.b.value(forKey: "k3") == nil)
    }

    @Test("Without a secret, a pickle in Redis is refused; with one, a tagged pickle is taken")
    func pickles() throws {
        let plain = try TwoMachines()
        defer { plain.cleanup() }
        try plain.a.set(Array("pickled".utf8), forKey: "p", type: .pickle)
        #expect(try plain.b.value(forKey: "p") == nil)
        #expect(plain.b.sharedStatistics.refused == 1)
        let tagged = try TwoMachines { $0.secret = Array("team".utf8) }
        defer { tagged.cleanup() }
        try tagged.a.set(Array("pickled".utf8), forKey: "p", type: .pickle)
        #expect(try tagged.b.typedValue(forKey: Array("p".utf8))?.type == .pickle)
    }

    @Test("An error reply (a full Redis) is counted, keeps the connection, and Redis stays reachable")
    func errorReply() throws {
        let m = try TwoMachines()
        defer { m.cleanup() }
        try m.a.set(Array("fits".utf8), forKey: "small")
        try m.redis.command(["CONFIG", "SET", "maxmemory", "1"]).check()
        try m.a.set([UInt8](repeating: 1, count: 1000), forKey: "refused")
        let s = m.a.sharedStatistics
        #expect(s.errors == 1 && s.reachable && s.disconnects == 0)
        try m.redis.command(["CONFIG", "SET", "maxmemory", "0"]).check()
        try m.a.set(Array("again".utf8), forKey: "after")
        #expect(m.a.sharedStatistics.connects == 1, "one connection for all of it")
        #expect(try m.b.value(forKey: "after") == Array("again".utf8))
    }

    @Test("A connection closed by a restart is replaced without counting Redis as down")
    func staleConnection() throws {
        let m = try TwoMachines()
        defer { m.cleanup() }
        try m.a.set(Array("v".utf8), forKey: "before")
        m.redis.kill()
        try m.redis.start()
        try m.a.set(Array("v".utf8), forKey: "after")
        let s = m.a.sharedStatistics
        #expect(s.disconnects == 0 && s.reachable && s.writes == 2 && s.connects == 2)
    }

    @Test("A memoized result too large to share sends the waiting machine to compute at once")
    func unsharedResult() throws {
        let redis = try RedisServer()
        let dir = TemporaryDirectory()
        defer { redis.stop(); dir.cleanup() }
        var options = try SharedTierOptions(url: redis.url)
        options.maxValueSize = 100
        let a = try SharedCache(local: try CacheStore(directory: dir.file("a")), options: options)
        let b = try SharedCache(local: try CacheStore(directory: dir.file("b")), options: options)
        defer { try? a.local.close(); try? b.local.close() }
        let entered = DispatchSemaphore(value: 0)
        let computing = Thread {
            _ = try? a.memoize(namespace: "big", version: "1", key: "q") { () throws -> String in
                entered.signal()
                Thread.sleep(forTimeInterval: 0.5)
                return String(repeating: "x", count: 1000)
            }
        }
        computing.start()
        entered.wait()
        let started = ContinuousClock.now
        let result = try b.memoize(namespace: "big", version: "1", key: "q") { () throws -> String in "b's own" }
        // b waited for a's lease, then found the marker instead of a value and computed its own.
        #expect(result == "b's own")
        #expect(ContinuousClock.now - started < .seconds(5))
        let hash = try MemoKey(namespace: "big", version: "1", request: "q").hash
        let lease = try redis.command(["GET", "logcache:l:memo/big/1/" + hash])
        let marker = RedisReply.string(Array("unshared".utf8))
        #expect(lease == marker, "the lease was replaced by the marker that tells other waiters not to wait")
    }
}
