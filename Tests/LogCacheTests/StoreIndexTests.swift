import Foundation
import Testing
@testable import LogCache

/// The index on its own: what applying, removing, relocating, retiring and evicting do to
/// its entries and byte counts, over real segment files.
@Suite("StoreIndex")
struct StoreIndexTests {
    static let salt = RecordSalt(0x5EED)

    /// Encodes raw records with `salt`.
    static let encoder = RecordEncoder(
        settings: StoreSettings(compression: .none, compressionThreshold: 0, segmentSize: 1 << 20,
                                defaultTTLMilliseconds: nil, capacityBytes: nil, capacityEntries: nil, policy: .lru),
        salt: salt)

    /// A value record of `key` (raw, `size` value bytes) ready to apply.
    static func value(_ key: String, size: Int = 10, expiresAt: Int64 = 0) throws -> PendingRecord {
        try withBytes(Array(key.utf8)) { k throws(CacheError) in
            try withBytes([UInt8](repeating: 7, count: size)) { v throws(CacheError) in
                try encoder.value(key: k, value: v, expiresAt: expiresAt, now: 1)
            }
        }
    }

    static func hash(_ key: String) -> UInt64 { KeyHash.hash(Array(key.utf8)) }

    /// An index with one open segment `id` (a real, empty file in `dir`).
    static func index(_ dir: TemporaryDirectory, segments ids: [UInt32] = [1]) throws -> StoreIndex {
        var segments: [UInt32: Segment] = [:]
        for id in ids {
            segments[id] = Segment(id: id, file: try File.open(dir.file(Segment.fileName(id)), flags: O_RDWR | O_CREAT))
        }
        return StoreIndex(live: LiveSet(), segments: segments, diskBytes: 0)
    }

    @Test("Applied values are found where they were written; a rewrite replaces the entry and its bytes; a tombstone removes it")
    func applyValuesAndTombstones() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let index = try Self.index(dir)
        let a = try Self.value("a"), b = try Self.value("b", size: 20)
        index.apply([a, b], segment: 1, endingAt: 24 + a.bytes.count + b.bytes.count)
        let (ea, sa) = try #require(try index.located(Self.hash("a")))
        #expect(ea.segment == 1 && ea.offset == 24 && Int(ea.length) == a.bytes.count && sa.id == 1)
        let eb = try #require(index.entry(for: Self.hash("b")))
        #expect(Int(eb.offset) == 24 + a.bytes.count)
        #expect(index.sizes.entries == 2)
        #expect(index.sizes.liveBytes == a.bytes.count + b.bytes.count)
        #expect(index.liveBytes(inSegment: 1) == a.bytes.count + b.bytes.count)

        let a2 = try Self.value("a", size: 30)
        let end = 24 + a.bytes.count + b.bytes.count + a2.bytes.count
        index.apply([a2], segment: 1, endingAt: end)
        #expect(index.sizes.entries == 2)
        #expect(index.sizes.liveBytes == a2.bytes.count + b.bytes.count, "the replaced record's bytes are no longer live")
        #expect(index.entry(for: Self.hash("a"))?.offset == UInt32(end - a2.bytes.count))

        let tomb = withBytes(Array("b".utf8)) { k in Self.encoder.tombstone(key: k, keyHash: Self.hash("b"), now: 2) }
        index.apply([tomb], segment: 1, endingAt: end + tomb.bytes.count)
        #expect(index.entry(for: Self.hash("b")) == nil)
        #expect(index.sizes.liveBytes == a2.bytes.count)
        #expect(index.sizes.diskBytes == a.bytes.count + b.bytes.count + a2.bytes.count + tomb.bytes.count)
        // The tombstone's bytes are kept by compaction unless its run starts the log.
        #expect(index.usage(of: [0, 1], expired: [:]).last?.pinned == tomb.bytes.count)
    }

    @Test("remove(entry) and relocate only act on the entry the index still holds")
    func staleEntriesAreLeftAlone() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let index = try Self.index(dir, segments: [1, 2])
        let a = try Self.value("a")
        index.apply([a], segment: 1, endingAt: 24 + a.bytes.count)
        let old = try #require(index.entry(for: Self.hash("a")))
        index.apply([a], segment: 1, endingAt: 24 + 2 * a.bytes.count)
        let current = try #require(index.entry(for: Self.hash("a")))
        #expect(!index.remove(old), "an entry already replaced was removed")
        let slot = try #require(index.lookup(of: Self.hash("a"))).slot
        index.relocate([.init(old: old, slot: slot, segment: 2, offset: 24)])
        #expect(index.entry(for: Self.hash("a")) == current, "a stale copy was made the key's entry")
        index.relocate([.init(old: current, slot: slot, segment: 2, offset: 24)])
        let moved = try #require(index.entry(for: Self.hash("a")))
        #expect(moved.segment == 2 && moved.offset == 24)
        #expect(index.liveBytes(inSegment: 1) == 0 && index.liveBytes(inSegment: 2) == a.bytes.count)
        #expect(index.remove(moved))
        #expect(try index.located(Self.hash("a")) == nil)
        #expect(index.sizes.liveBytes == 0)
    }

    @Test("A relocation whose slot was freed and given to another key moves the right key and leaves the other alone")
    func relocationWithStaleSlot() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let index = try Self.index(dir, segments: [1, 2])
        let a = try Self.value("a")
        index.apply([a], segment: 1, endingAt: 24 + a.bytes.count)
        let (slot, old) = try #require(index.lookup(of: Self.hash("a")))
        // The pass read "a" at `slot`; then "a" was removed and rewritten, and "b" took the slot.
        #expect(index.remove(old))
        let b = try Self.value("b"), a2 = try Self.value("a")
        index.apply([b, a2], segment: 1, endingAt: 24 + 2 * a.bytes.count + b.bytes.count)
        #expect(try #require(index.lookup(of: Self.hash("b"))).slot == slot, "the freed slot was not reused")
        let bBefore = try #require(index.entry(for: Self.hash("b")))
        index.relocate([.init(old: old, slot: slot, segment: 2, offset: 24)])
        #expect(index.entry(for: Self.hash("b")) == bBefore, "another key's entry was moved")
        #expect(index.entry(for: Self.hash("a"))?.segment == 1, "a rewritten key was pointed at a stale copy")

        // The key itself, now at another slot, with a hint naming the slot another key holds.
        let current = try #require(index.lookup(of: Self.hash("a")))
        index.relocate([.init(old: current.entry, slot: slot, segment: 2, offset: 48)])
        let moved = try #require(index.entry(for: Self.hash("a")))
        #expect(moved.segment == 2 && moved.offset == 48, "a hint that misses must fall back to a lookup")
        #expect(index.entry(for: Self.hash("b")) == bBefore)
    }

    @Test("The hash table agrees with a dictionary through inserts, rewrites and removals of keys that share buckets and tags, as it grows")
    func keyIndexAgainstModel() {
        var index = KeyIndex()
        var model: [UInt64: IndexEntry] = [:]
        var slots: [UInt64: KeyIndex.Slot] = [:]
        var g = SeededGenerator(seed: 77)
        // Hashes from a small pool of top bits (the tag) and of bucket bits, so that probes
        // run through many words of other keys with the same tag, and with other tags.
        func hash() -> UInt64 {
            let top = g.next() % 4 << 56
            let bucketBits = (g.next() % 64) << 7
            let rest = g.next() & 0x00FF_FFFF_FFFF_C07F & ~(UInt64(0xFF) << 56)
            return top | bucketBits | (rest & ~(UInt64(63) << 7))
        }
        var keys: [UInt64] = []
        for step in 0..<60_000 {
            let roll = g.next() % 10
            if roll < 6 || keys.isEmpty {
                let h = roll == 0 && !keys.isEmpty ? keys[Int(g.next() % UInt64(keys.count))] : hash()
                let e = IndexEntry(keyHash: h, segment: 1, offset: UInt32(step), length: 32, expiresAt: 0)
                let (slot, replaced) = index.upsert(e)
                #expect(replaced == model[h], "step \(step)")
                if let old = slots[h] { #expect(old == slot, "a rewrite moved the key's slot") }
                if model[h] == nil { keys.append(h) }
                model[h] = e
                slots[h] = slot
            } else {
                let i = Int(g.next() % UInt64(keys.count))
                let h = keys.remove(at: i)
                #expect(index.remove(h)?.entry == model[h], "step \(step)")
                model[h] = nil
                slots[h] = nil
            }
            if step % 5_000 == 0 {
                for (h, e) in model {
                    #expect(index.entry(for: h) == e)
                    #expect(index.slot(of: h) == slots[h])
                }
                let absent = hash()
                if model[absent] == nil { #expect(index.entry(for: absent) == nil) }
            }
        }
        #expect(index.count == model.count)
        var seen: [UInt64: IndexEntry] = [:]
        index.forEach { slot, e in
            seen[e.keyHash] = e
            #expect(slots[e.keyHash] == slot)
        }
        #expect(seen == model)
        for (h, e) in model { #expect(index.lookup(of: h)?.entry == e) }
    }

    @Test("A batch of lookups, prefetched, answers as one lookup at a time does, hits and misses alike")
    func batchedLookups() throws {
        var keys = KeyIndex()
        var generator = SystemRandomNumberGenerator()
        let present = (0..<5_000).map { _ in UInt64.random(in: 1...UInt64.max, using: &generator) }
        for (i, h) in present.enumerated() {
            keys.upsert(IndexEntry(keyHash: h, segment: UInt32(i % 7), offset: UInt32(i), length: 10, expiresAt: 0))
        }
        for h in present.prefix(500) { keys.remove(h) }
        let absent = (0..<2_000).map { _ in UInt64.random(in: 1...UInt64.max, using: &generator) }
        for count in [0, 1, 16, 17, 4_096] {
            let batch = (present + absent).shuffled(using: &generator).prefix(count)
            let answers = keys.lookups(of: Array(batch))
            #expect(answers.count == batch.count)
            for (h, answer) in zip(batch, answers) {
                let one = keys.slot(of: h)
                #expect(answer?.slot == one && answer?.entry == one.map { keys[$0] })
            }
        }
    }

    @Test("An index reserved for its load does not grow while loading, and is not rebuilt after unless that gives memory back")
    func reserveAndShrink() throws {
        var keys = KeyIndex()
        keys.reserve(100_000)
        let reserved = keys.memoryBytes
        var generator = SystemRandomNumberGenerator()
        let hashes = (0..<100_000).map { _ in UInt64.random(in: 1...UInt64.max, using: &generator) }
        for (i, h) in hashes.enumerated() {
            keys.upsert(IndexEntry(keyHash: h, segment: 1, offset: UInt32(i), length: 10, expiresAt: 0))
        }
        #expect(keys.memoryBytes == reserved, "the table grew during a load it was reserved for")
        let slot = try #require(keys.slot(of: hashes[500]))
        keys.shrinkToFit()
        #expect(keys.slot(of: hashes[500]) == slot, "a full index was rebuilt for nothing")
        // A reservation is refused once entries are in, whatever it asks for.
        keys.reserve(10_000_000)
        #expect(keys.memoryBytes == reserved)
        // With most keys removed, shrinking rebuilds smaller and keeps every live key.
        for h in hashes[..<90_000] { keys.remove(h) }
        keys.shrinkToFit()
        #expect(keys.memoryBytes < reserved / 4 && keys.count == 10_000)
        #expect(hashes[90_000...].allSatisfy { keys.entry(for: $0)?.keyHash == $0 })
        #expect(hashes[..<90_000].allSatisfy { keys.entry(for: $0) == nil })
    }

    @Test("retire forgets the segments, frees their bytes, drops entries still pointing there and the expired ones")
    func retire() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let index = try Self.index(dir, segments: [1, 2])
        let a = try Self.value("a"), b = try Self.value("b"), c = try Self.value("c", expiresAt: 5_000)
        index.apply([a, b], segment: 1, endingAt: 24 + a.bytes.count + b.bytes.count)
        index.apply([c], segment: 2, endingAt: 24 + c.bytes.count)
        let before = index.sizes.diskBytes
        let expired = try #require(index.entry(for: Self.hash("c")))
        let retired = index.retire([1], sizes: [100], expired: [expired])
        #expect(retired.freedBytes == 100 && retired.staleEntries == 2 && retired.expiredEntries == 1)
        #expect(index.segment(1) == nil && index.segment(2) != nil)
        #expect(index.sizes.entries == 0 && index.sizes.liveBytes == 0)
        #expect(index.sizes.diskBytes == before - 100)
        #expect(index.retire([1], sizes: [100], expired: []).freedBytes == 0, "a segment was freed twice")
    }

    @Test("makeRoom evicts the policy's victims until the records fit, counting a rewritten key as replaced")
    func makeRoom() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let index = try Self.index(dir)
        index.installPolicy { EvictionTracker(kind: .lru, capacityBytes: nil, capacityEntries: nil).loaded($0) }
        let records = try (0..<4).map { try Self.value("k\($0)") }
        let size = records[0].bytes.count
        var end = 24
        for r in records {
            end += size
            index.apply([r], segment: 1, endingAt: end)
        }
        // Room for 4: a rewrite of k3 needs nothing, a new key of the same size needs the oldest to go.
        #expect(index.makeRoom(for: [try Self.value("k3")], maxBytes: 4 * size, maxEntries: 4, now: 1).victims.isEmpty)
        let evicted = index.makeRoom(for: [try Self.value("k9")], maxBytes: 4 * size, maxEntries: 4, now: 1)
        #expect(evicted.victims == [Self.hash("k0")] && evicted.bytes == size && evicted.expired == 0)
        #expect(index.entry(for: Self.hash("k0")) == nil && index.sizes.entries == 3)
        let two = index.makeRoom(for: [], maxBytes: .max, maxEntries: 1, now: 1)
        #expect(two.victims == [Self.hash("k1"), Self.hash("k2")])
    }

    @Test("A hit read just before compaction moved the record still counts for the policy")
    func hitAfterRelocation() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let index = try Self.index(dir, segments: [1, 2])
        index.installPolicy { EvictionTracker(kind: .lru, capacityBytes: nil, capacityEntries: nil).loaded($0) }
        let records = try (0..<3).map { try Self.value("k\($0)") }
        let size = records[0].bytes.count
        var end = 24
        for r in records {
            end += size
            index.apply([r], segment: 1, endingAt: end)
        }
        // A reader looked k0 up; then a compaction moved its record; then the read's hit lands.
        let read = try #require(index.entry(for: Self.hash("k0")))
        // The slot hint is checked, not trusted: .max makes the index look the key up.
        index.relocate([.init(old: read, slot: .max, segment: 2, offset: 24)])
        #expect(index.entry(for: Self.hash("k0"))?.segment == 2)
        index.recordHit(read)
        // k0 was used last: k1 is the least recently used and goes first.
        let evicted = index.makeRoom(for: [], maxBytes: .max, maxEntries: 2, now: 1)
        #expect(evicted.victims == [Self.hash("k1")])
    }

    @Test("A closed index refuses lookups and holds no segment")
    func closed() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let index = try Self.index(dir)
        let a = try Self.value("a")
        index.apply([a], segment: 1, endingAt: 24 + a.bytes.count)
        index.close()
        #expect(throws: CacheError.closed) { _ = try index.located(Self.hash("a")) }
        #expect(throws: CacheError.closed) { _ = try index.liveEntries() }
        #expect(index.segments.isEmpty && index.sizes.entries == 0)
    }
}

extension EvictionTracker {
    /// The tracker loaded for `index` in log order, with no saved order.
    fileprivate func loaded(_ index: KeyIndex) -> EvictionTracker {
        var slots: [UInt32] = []
        index.forEach { slot, _ in slots.append(slot) }
        load(index: index, snapshot: nil, logOrder: slots)
        return self
    }
}
