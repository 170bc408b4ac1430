import Testing
@testable import LogCache

/// A saved and restored policy must evict in exactly the original's order, now and after
/// further operations: its objects' order and state, and its ghosts, target and sketch.
@Suite struct PersistablePolicyTests {
    struct Object { var key: UInt64; var size: Int; var expiresAt: Int64 }

    /// A policy driven as the store drives it: a miss then an insert for a key not cached,
    /// hits, removals, and evictions, over a pool of keys small enough that evicted keys
    /// come back (so ghosts are hit) and a capacity small enough that ghost lists are trimmed.
    struct Driver<P: PersistablePolicy> {
        var policy: P
        var objects: [UInt32: Object] = [:]
        var cachedKeys: Set<UInt64> = []
        var free: [UInt32] = []
        var nextSlot: UInt32 = 0

        mutating func step(_ choice: UInt64, _ pick: UInt64) -> UInt32? {
            let live = objects.keys.sorted()
            switch choice % 10 {
            case 0...3:
                let key = pick % 400
                guard !cachedKeys.contains(key) else { return nil }
                let slot = free.popLast() ?? { defer { nextSlot += 1 }; return nextSlot }()
                let o = Object(key: key, size: Int(pick % 100) + 1, expiresAt: pick % 3 == 0 ? 0 : Int64(pick % 17) + 1)
                objects[slot] = o
                cachedKeys.insert(key)
                policy.willMiss(key: o.key, size: o.size)
                policy.insert(slot, key: o.key, size: o.size, expiresAt: o.expiresAt)
            case 4...7:
                if !live.isEmpty { policy.access(live[Int(pick % UInt64(live.count))]) }
            case 8:
                if !live.isEmpty { forget(live[Int(pick % UInt64(live.count))], removing: true) }
            default:
                if let v = policy.evict() {
                    forget(v, removing: false)
                    return v
                }
            }
            return nil
        }

        mutating func forget(_ slot: UInt32, removing: Bool) {
            if removing { policy.remove(slot) }
            if let o = objects[slot] { cachedKeys.remove(o.key) }
            objects[slot] = nil
            free.append(slot)
        }
    }

    static let capacity = 3_000

    func roundTrip<P: PersistablePolicy>(_ type: P.Type, seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        var original = Driver(policy: P(capacity: Self.capacity))
        for _ in 0..<3000 { _ = original.step(rng.next(), rng.next()) }
        let state = original.policy.persistentState()
        let extras = original.policy.persistentExtras()
        #expect(Set(state.map(\.slot)) == Set(original.objects.keys), "\(P.name): every tracked object is saved once")
        var restored = original
        restored.policy = P(capacity: Self.capacity)
        for (slot, value) in state {
            guard let o = original.objects[slot] else { continue }
            restored.policy.restore(slot, key: o.key, size: o.size, expiresAt: o.expiresAt, value: value)
        }
        restored.policy.restoreExtras(extras)
        #expect(restored.policy.persistentState().map(\.slot) == state.map(\.slot), "\(P.name)")
        #expect(restored.policy.persistentState().map(\.value) == state.map(\.value), "\(P.name)")
        let again = restored.policy.persistentExtras()
        #expect(again.words == extras.words, "\(P.name): words")
        #expect(again.ghosts.map(\.key) == extras.ghosts.map(\.key) && again.ghosts.map(\.size) == extras.ghosts.map(\.size)
            && again.ghosts.map(\.list) == extras.ghosts.map(\.list), "\(P.name): ghosts")
        // The same further operations give the same victims.
        var rng2 = rng
        var a: [UInt32] = [], b: [UInt32] = []
        for _ in 0..<3000 {
            let (c, p) = (rng.next(), rng.next())
            let (c2, p2) = (rng2.next(), rng2.next())
            if let v = original.step(c, p) { a.append(v) }
            if let v = restored.step(c2, p2) { b.append(v) }
        }
        #expect(a == b, "\(P.name): victims after restoring")
        #expect(drain(&original.policy) == drain(&restored.policy), "\(P.name): final eviction order")
        #expect(!a.isEmpty)
    }

    @Test func lru() { roundTrip(LRUPolicy.self, seed: 1) }
    @Test func lfu() { roundTrip(LFUPolicy.self, seed: 2) }
    @Test func ttl() { roundTrip(TTLPolicy.self, seed: 3) }
    @Test func fifo() { roundTrip(FIFOPolicy.self, seed: 4) }
    @Test func clock() { roundTrip(ClockPolicy.self, seed: 5) }
    @Test func sieve() { roundTrip(SIEVEPolicy.self, seed: 6) }
    @Test func s3fifo() { roundTrip(S3FIFOPolicy.self, seed: 7) }
    @Test func wtinylfu() { roundTrip(WTinyLFUPolicy.self, seed: 8) }
    @Test func arc() { roundTrip(ARCPolicy.self, seed: 9) }
    @Test func twoQ() { roundTrip(TwoQPolicy.self, seed: 10) }

    /// Without its extras a restored policy is a different policy: the round trips above
    /// would not pass if the ghosts, target and sketch were not what decides.
    @Test("Ghosts, ARC's target and W-TinyLFU's sketch change later victims", arguments: [7, 8, 9, 10] as [UInt64])
    func extrasMatter(seed: UInt64) {
        func victimsAfterRestore<P: PersistablePolicy>(_ type: P.Type, withExtras: Bool) -> [UInt32] {
            var rng = SeededGenerator(seed: seed)
            var d = Driver(policy: P(capacity: Self.capacity))
            for _ in 0..<3000 { _ = d.step(rng.next(), rng.next()) }
            var fresh = P(capacity: Self.capacity)
            for (slot, value) in d.policy.persistentState() {
                guard let o = d.objects[slot] else { continue }
                fresh.restore(slot, key: o.key, size: o.size, expiresAt: o.expiresAt, value: value)
            }
            if withExtras { fresh.restoreExtras(d.policy.persistentExtras()) }
            d.policy = fresh
            var out: [UInt32] = []
            for _ in 0..<3000 { if let v = d.step(rng.next(), rng.next()) { out.append(v) } }
            return out
        }
        func differs<P: PersistablePolicy>(_ type: P.Type) -> Bool {
            victimsAfterRestore(type, withExtras: true) != victimsAfterRestore(type, withExtras: false)
        }
        let changed = switch seed {
        case 7: differs(S3FIFOPolicy.self)
        case 8: differs(WTinyLFUPolicy.self)
        case 9: differs(ARCPolicy.self)
        default: differs(TwoQPolicy.self)
        }
        #expect(changed)
    }

    @Test func lfuSavesFrequencies() {
        var p = LFUPolicy(capacity: 10)
        p.insert(0, key: 10, size: 1, expiresAt: 0)
        p.insert(1, key: 11, size: 1, expiresAt: 0)
        p.access(0); p.access(0)
        let state = p.persistentState()
        #expect(state.map(\.slot) == [1, 0])
        #expect(state.map(\.value) == [1, 3])
    }

    @Test("A sketch's words decode to the same sketch; damaged words are refused")
    func sketchWords() {
        var s = FrequencySketch(objects: 100)
        for k in 0..<500 as Range<UInt64> { s.increment(k % 37) }
        let words = s.words
        guard let back = FrequencySketch(words: words) else {
            Issue.record("the sketch's own words did not decode")
            return
        }
        #expect(back.words == words)
        for k in 0..<40 as Range<UInt64> { #expect(back.estimate(k) == s.estimate(k)) }
        #expect(FrequencySketch(words: []) == nil)
        #expect(FrequencySketch(words: Array(words.dropLast())) == nil)
        var notPowerOfTwo = words
        notPowerOfTwo[0] = 100
        #expect(FrequencySketch(words: notPowerOfTwo) == nil)
        var hugeWidth = words
        hugeWidth[0] = 1 << 62
        #expect(FrequencySketch(words: hugeWidth) == nil)
    }

    @Test("A sketch widened as objects are added keeps every count it had, as an upper bound")
    func sketchGrowsWithoutForgetting() {
        var s = FrequencySketch(objects: 4)
        var truth: [UInt64: Int] = [:]
        var rng = SeededGenerator(seed: 12)
        for n in 1...20_000 {
            let key = rng.next() % 3_000
            s.increment(key)
            truth[key, default: 0] += 1
            s.ensureCapacity(objects: n / 10)
        }
        #expect(s.words[0] >= 2_000 * 32 / 2, "the sketch grew")
        for (key, count) in truth { #expect(s.estimate(key) >= min(count, 255), "\(key)") }
        // A sketch as wide as its objects need from the start counts almost exactly (a grown
        // one keeps what its narrower self overcounted, as upper bounds).
        var wide = FrequencySketch(objects: 2_000)
        var fresh: [UInt64: Int] = [:]
        for n in 0..<6_000 {
            let key = 100_000 + UInt64(n % 2_000)
            wide.increment(key)
            fresh[key, default: 0] += 1
        }
        let exact = fresh.filter { wide.estimate($0.key) == $0.value }.count
        #expect(exact * 100 >= fresh.count * 95, "\(exact) of \(fresh.count) exact")
        s.halve()
        for (key, count) in truth.prefix(50) { #expect(s.estimate(key) >= min(count, 255) / 2) }
    }
}
