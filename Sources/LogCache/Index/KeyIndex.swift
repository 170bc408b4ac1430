import CLogCacheSupport

/// The in-memory hash index: key hash → ``IndexEntry``, with O(1) expected lookup,
/// insert and remove.
///
/// Entries live in a dense array addressed by slot number; an open-addressing table of
/// 32-bit words (linear probing, backward-shift deletion, so no tombstones) finds them by
/// hash. Slots stay put while their key is live, which lets an eviction policy keep its own
/// per-slot arrays. About 24 bytes per entry plus 5 to 10 for the table.
///
/// A table word holds the slot number in its low bits and, in the bits a slot number of a
/// table that size never needs (a table of 2^n buckets holds at most 0.8 × 2^n slots), the
/// top bits of the key's hash: a probe that passes another key's bucket tells it apart by
/// those bits without reading its entry, a trip to memory each in a table larger than the
/// processor's caches. Only a word whose bits match has its entry read and compared.
struct KeyIndex: Sendable {
    /// A slot number; stable while its key is live.
    typealias Slot = UInt32

    private var entries: [IndexEntry] = []
    /// Marks a free slot in `entries` (no segment has this number).
    private static let freeMarker = UInt32.max
    /// Free slots, reused before the dense array grows.
    private var freeSlots: [Slot] = []
    /// The hash's tag in the high bits and slot + 1 in the low ones, or 0 for an empty bucket.
    private var table: [UInt32]
    private var mask: Int
    /// Bits of a word holding slot + 1: log2 of the table's size, at most 32.
    private var slotBits: Int
    private(set) var count = 0

    init(expectedCount: Int = 0) {
        let buckets = Self.buckets(for: expectedCount)
        table = Self.emptyTable(buckets)
        mask = buckets - 1
        slotBits = Self.slotBits(forBuckets: buckets)
        entries.reserveCapacity(expectedCount)
        entries.withUnsafeBufferPointer { e in
            Self.adviseHugePages(e.baseAddress, bytes: entries.capacity * MemoryLayout<IndexEntry>.stride)
        }
    }

    /// Arrays at least this large ask for huge pages: an index this size is read at random
    /// places, and with 4 KiB pages nearly every lookup also misses the processor's
    /// translation cache, and loading it takes a page fault every 4 KiB.
    static let hugePageMinimum = 4 << 20

    /// A table of `buckets` empty words, asked for huge pages before it is filled when large.
    private static func emptyTable(_ buckets: Int) -> [UInt32] {
        [UInt32](unsafeUninitializedCapacity: buckets) { b, initialized in
            adviseHugePages(b.baseAddress, bytes: buckets * 4)
            b.initialize(repeating: 0)
            initialized = buckets
        }
    }

    private static func adviseHugePages(_ base: UnsafeRawPointer?, bytes: Int) {
        guard bytes >= hugePageMinimum, let base else { return }
        _ = logcache_advise_huge_pages(UnsafeMutableRawPointer(mutating: base), bytes)
    }

    /// log2 of `buckets` (a power of two), at most 32: slot + 1 stays below 2^that, since
    /// the table never holds more than 80% of its size.
    private static func slotBits(forBuckets buckets: Int) -> Int {
        min(32, buckets.trailingZeroBitCount)
    }

    /// The part of a word that holds slot + 1.
    @inline(__always) private var slotMask: UInt32 { slotBits >= 32 ? .max : (1 << UInt32(slotBits)) - 1 }

    /// The tag of `hash` in a word's high bits: the hash's top bits, which the bucket does
    /// not use (it takes bits 7 up); 0 when slot numbers take the whole word.
    @inline(__always) private func tag(_ hash: UInt64) -> UInt32 {
        guard slotBits < 32 else { return 0 }
        return UInt32(truncatingIfNeeded: hash >> UInt64(32 + slotBits)) << UInt32(slotBits)
    }

    /// The word for `slot` of a key with `hash`.
    @inline(__always) private func word(slot: Int, hash: UInt64) -> UInt32 { tag(hash) | UInt32(slot + 1) }

    /// Whether the word may be `hash`'s: its tag matches (its entry decides).
    @inline(__always) private func mayHold(_ word: UInt32, _ hash: UInt64) -> Bool { word & ~slotMask == tag(hash) }

    /// The slot a nonzero word names.
    @inline(__always) private func slot(in word: UInt32) -> Int { Int(word & slotMask) - 1 }

    /// Whether the nonzero word is `hash`'s: its tag, then its entry, match.
    @inline(__always) private func holds(_ word: UInt32, _ hash: UInt64) -> Bool {
        mayHold(word, hash) && entries[slot(in: word)].keyHash == hash
    }

    /// The table size for `count` entries: a power of two, kept at most 80% full.
    private static func buckets(for count: Int) -> Int {
        var buckets = 16
        while buckets * 4 < count * 5, buckets < 1 << 40 { buckets <<= 1 }
        return buckets
    }

    /// Makes room for `count` entries at once, so that loading them does not grow the table
    /// by doubling (each doubling re-inserts every entry). Only while the index is empty:
    /// a count read from files is a bound, not a promise, and an index that holds entries
    /// grows as it must.
    mutating func reserve(_ count: Int) {
        guard self.count == 0, entries.isEmpty, Self.buckets(for: count) > table.count else { return }
        self = KeyIndex(expectedCount: count)
    }

    /// Starts loading what the lookups of the keys `distance` and twice `distance` after
    /// key `i` of a batch will read, `hash(j)` being key `j`'s hash and `count` the batch's
    /// size: the far one's bucket, and the entry the near one's bucket (asked for earlier)
    /// names. Only a hint; a lookup or ``upsert(_:)`` in between does not make it wrong.
    @inline(__always)
    func prefetch(aheadOf i: Int, count: Int, hash: (Int) -> UInt64) {
        let d = Self.prefetchDistance
        if i + 2 * d < count {
            table.withUnsafeBufferPointer { t in
                if let base = t.baseAddress { logcache_prefetch(base + bucket(hash(i + 2 * d))) }
            }
        }
        if i + d < count {
            let h = hash(i + d)
            let t = table[bucket(h)]
            guard t != 0, mayHold(t, h) else { return }
            let s = slot(in: t)
            entries.withUnsafeBufferPointer { e in
                if let base = e.baseAddress, s < e.count { logcache_prefetch(base + s) }
            }
        }
    }

    /// Slots ever allocated (live or free): the size a per-slot side array needs.
    var slotCapacity: Int { entries.count }

    /// Bytes held by the index's arrays.
    var memoryBytes: Int {
        entries.capacity * MemoryLayout<IndexEntry>.stride + table.capacity * 4 + freeSlots.capacity * 4
    }

    @inline(__always) private func bucket(_ hash: UInt64) -> Int { Int(truncatingIfNeeded: hash >> 7) & mask }

    /// The slot of `hash`, if present.
    func slot(of hash: UInt64) -> Slot? {
        var b = bucket(hash)
        while true {
            let t = table[b]
            if t == 0 { return nil }
            if holds(t, hash) { return Slot(slot(in: t)) }
            b = (b + 1) & mask
        }
    }

    /// The entry at a live slot.
    subscript(slot: Slot) -> IndexEntry { entries[Int(slot)] }

    /// The entry for `hash`, if present.
    func entry(for hash: UInt64) -> IndexEntry? { slot(of: hash).map { entries[Int($0)] } }

    /// How many lookups ahead ``prefetch(aheadOf:count:hash:)`` prefetches each of a lookup's two memory
    /// reads: far enough to cover a trip to memory, near enough that the lines are still
    /// in the cache when their turn comes.
    static let prefetchDistance = 8

    /// The slot and entry of `hash`, if present.
    func lookup(of hash: UInt64) -> (slot: Slot, entry: IndexEntry)? {
        slot(of: hash).map { ($0, entries[Int($0)]) }
    }

    /// The slots and entries of `hashes`, in their order: the answers of ``lookup(of:)``,
    /// faster for a large batch. A lookup reads two places nothing else is near, its bucket
    /// and then the entry the bucket names; here each is prefetched a few lookups ahead, so
    /// a batch spends its time on lookups and not waiting for memory twice per key.
    func lookups(of hashes: [UInt64]) -> [(slot: Slot, entry: IndexEntry)?] {
        var found: [(slot: Slot, entry: IndexEntry)?] = []
        found.reserveCapacity(hashes.count)
        for i in hashes.indices {
            prefetch(aheadOf: i, count: hashes.count) { hashes[$0] }
            found.append(lookup(of: hashes[i]))
        }
        return found
    }

    /// Inserts or replaces the entry for `entry.keyHash`; returns its slot and the entry it replaced.
    @discardableResult
    mutating func upsert(_ entry: IndexEntry) -> (slot: Slot, replaced: IndexEntry?) {
        var b = bucket(entry.keyHash)
        while true {
            let t = table[b]
            if t == 0 { break }
            if holds(t, entry.keyHash) {
                let s = slot(in: t)
                let old = entries[s]
                entries[s] = entry
                return (Slot(s), old)
            }
            b = (b + 1) & mask
        }
        let s: Slot
        if let free = freeSlots.popLast() {
            s = free
            entries[Int(s)] = entry
        } else {
            s = Slot(entries.count)
            entries.append(entry)
        }
        table[b] = word(slot: Int(s), hash: entry.keyHash)
        count += 1
        if count * 5 > table.count * 4 { grow() }
        return (s, nil)
    }

    /// Removes the entry for `hash`; returns it and the slot it had.
    @discardableResult
    mutating func remove(_ hash: UInt64) -> (slot: Slot, entry: IndexEntry)? {
        var b = bucket(hash)
        while true {
            let t = table[b]
            if t == 0 { return nil }
            if holds(t, hash) { break }
            b = (b + 1) & mask
        }
        let s = Slot(slot(in: table[b]))
        let removed = entries[Int(s)]
        // Backward-shift deletion: pull later members of the probe run into the hole so that
        // every remaining key is still reachable from its home bucket.
        var hole = b
        var j = (b + 1) & mask
        while table[j] != 0 {
            let home = bucket(entries[slot(in: table[j])].keyHash)
            let distanceToHole = (j - hole) & mask
            let distanceToHome = (j - home) & mask
            if distanceToHome >= distanceToHole {
                table[hole] = table[j]
                hole = j
            }
            j = (j + 1) & mask
        }
        table[hole] = 0
        entries[Int(s)].segment = Self.freeMarker
        freeSlots.append(s)
        count -= 1
        return (s, removed)
    }

    /// Replaces the entry at a live slot with one for the same key, in place: the slot, and
    /// so any per-slot state kept beside the index, stays.
    mutating func replace(at slot: Slot, with entry: IndexEntry) {
        precondition(entries[Int(slot)].keyHash == entry.keyHash, "replace must keep the key")
        entries[Int(slot)] = entry
    }

    /// Removes the entry at `slot` if it is still `expected` (it may have been replaced meanwhile).
    @discardableResult
    mutating func remove(_ expected: IndexEntry) -> Slot? {
        guard let s = slot(of: expected.keyHash), entries[Int(s)] == expected else { return nil }
        return remove(expected.keyHash)?.slot
    }

    /// Calls `body` with every live slot and entry, in no particular order.
    func forEach(_ body: (Slot, IndexEntry) -> Void) {
        for t in table where t != 0 {
            let s = slot(in: t)
            body(Slot(s), entries[s])
        }
    }

    /// Rebuilds the arrays at the size the live entries need, renumbering slots; for after a
    /// bulk load, when overwritten keys have left free slots and growth has left spare room.
    mutating func shrinkToFit() {
        // Rebuilding costs as much as the load did: only when it gives memory back, a
        // smaller table or a quarter of the slots freed.
        guard Self.buckets(for: count) < table.count || freeSlots.count * 4 > entries.count else { return }
        var compact = KeyIndex(expectedCount: count)
        for e in entries where e.segment != Self.freeMarker { compact.upsert(e) }
        self = compact
    }

    private mutating func grow() {
        let buckets = table.count * 2
        table = Self.emptyTable(buckets)
        mask = buckets - 1
        slotBits = Self.slotBits(forBuckets: buckets)
        for s in 0..<entries.count where entries[s].segment != Self.freeMarker {
            var b = bucket(entries[s].keyHash)
            while table[b] != 0 { b = (b + 1) & mask }
            table[b] = word(slot: s, hash: entries[s].keyHash)
        }
    }
}
