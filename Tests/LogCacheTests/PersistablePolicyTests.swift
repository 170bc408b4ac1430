import Testing
@testable import LogCache

/// A saved and restored policy must evict in exactly the original's order, now and after
/// further operations.
@Suite struct PersistablePolicyTests {
    struct Object { var key: UInt64; var size: Int; var expiresAt: Int64 }

    func roundTrip<P: PersistablePolicy>(_ type: P.Type, seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        var original = P(capacity: 1 << 20)
        var objects: [UInt32: Object] = [:]
        var free: [UInt32] = []
        var nextSlot: UInt32 = 0
        func step(_ p: inout P, _ objects: inout [UInt32: Object], _ free: inout [UInt32], _ nextSlot: inout UInt32,
                  _ choice: UInt64, _ pick: UInt64) -> UInt32? {
            let live = objects.keys.sorted()
            switch choice % 10 {
            case 0...3:
                let slot = free.popLast() ?? { defer { nextSlot += 1 }; return nextSlot }()
                let o = Object(key: pick, size: Int(pick % 100) + 1, expiresAt: pick % 3 == 0 ? 0 : Int64(pick % 17) + 1)
                objects[slot] = o
                p.insert(slot, key: o.key, size: o.size, expiresAt: o.expiresAt)
            case 4...7:
                if !live.isEmpty { p.access(live[Int(pick % UInt64(live.count))]) }
            case 8:
                if !live.isEmpty {
                    let s = live[Int(pick % UInt64(live.count))]
                    p.remove(s)
                    objects[s] = nil
                    free.append(s)
                }
            default:
                if let v = p.evict() {
                    objects[v] = nil
                    free.append(v)
                    return v
                }
            }
            return nil
        }
        for _ in 0..<2000 {
            _ = step(&original, &objects, &free, &nextSlot, rng.next(), rng.next())
        }
        let state = original.persistentState()
        #expect(Set(state.map(\.slot)) == Set(objects.keys), "\(P.name): every tracked object is saved once")
        var restored = P(capacity: 1 << 20)
        for (slot, value) in state {
            guard let o = objects[slot] else { continue }
            restored.restore(slot, key: o.key, size: o.size, expiresAt: o.expiresAt, value: value)
        }
        #expect(restored.persistentState().map(\.slot) == state.map(\.slot), "\(P.name)")
        #expect(restored.persistentState().map(\.value) == state.map(\.value), "\(P.name)")
        // The same further operations give the same victims.
        var objects2 = objects, free2 = free, next2 = nextSlot
        var rng2 = rng
        var a: [UInt32] = [], b: [UInt32] = []
        for _ in 0..<1000 {
            if let v = step(&original, &objects, &free, &nextSlot, rng.next(), rng.next()) { a.append(v) }
            if let v = step(&restored, &objects2, &free2, &next2, rng2.next(), rng2.next()) { b.append(v) }
        }
        #expect(a == b, "\(P.name): victims after restoring")
        #expect(drain(&original) == drain(&restored), "\(P.name): final eviction order")
        #expect(!a.isEmpty)
    }

    @Test func lru() { roundTrip(LRUPolicy.self, seed: 1) }
    @Test func lfu() { roundTrip(LFUPolicy.self, seed: 2) }
    @Test func ttl() { roundTrip(TTLPolicy.self, seed: 3) }
    @Test func fifo() { roundTrip(FIFOPolicy.self, seed: 4) }

    @Test func lfuSavesFrequencies() {
        var p = LFUPolicy(capacity: 10)
        p.insert(0, key: 10, size: 1, expiresAt: 0)
        p.insert(1, key: 11, size: 1, expiresAt: 0)
        p.access(0); p.access(0)
        let state = p.persistentState()
        #expect(state.map(\.slot) == [1, 0])
        #expect(state.map(\.value) == [1, 3])
    }
}
