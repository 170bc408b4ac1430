import Synchronization

/// A small cache of decoded values in the handle, bounded in bytes, in front of the record
/// reads: a hot key's value is returned without reading, checking and decompressing its record
/// again.
///
/// A value enters only after its record passed every check of ``RecordReader`` (length,
/// salted checksum, kind, key, expiry), so nothing unverified is ever returned from here.
/// Each value is kept with where its record is (segment, offset, length), and is found only
/// through the index entry a lookup just returned: a write to the key, from this process or
/// from another one once this handle has caught up with it (which every lookup does first),
/// points the index at another record, and the cached value is no longer reachable. Records
/// never change in place, and a place is written again only after the bytes there were cut:
/// a dead writer's torn append (never verified, so never cached), or an append that failed
/// and was cut back by its writer before it announced it, which no other handle reads
/// (``Follower/readableEnd(of:holdingAppendLock:)``). A handle that finds it read such
/// records anyway forgets every value (``removeAll()``), and a value read before that is
/// not kept after it (the lookup's ticket), so a cached value is always exactly the
/// record's. An expiry is checked on every hit.
///
/// Shards, each behind its own mutex, keep reader threads apart; each shard evicts by CLOCK
/// (a hit sets a bit, the hand clears it or evicts), which costs a hit no more than the bit.
final class HotValues: Sendable {
    /// What a cached value costs beyond its key and value bytes: the slot, the two arrays'
    /// headers and the dictionary entry, rounded up.
    static let overheadBytes = 96
    static let shardCount = 16

    /// Bytes the cache may hold in all; 0 when it is off.
    let capacity: Int
    private let shards: [Lock<Shard>]
    /// Lookups answered from here (they are counted as hits too).
    let hits = Atomic<Int>(0)

    init(capacity: Int) {
        self.capacity = max(0, capacity)
        let perShard = self.capacity / Self.shardCount
        shards = capacity > 0 ? (0..<Self.shardCount).map { _ in Lock(Shard(capacity: perShard)) } : []
    }

    var isEnabled: Bool { !shards.isEmpty }

    /// What a lookup found.
    enum Lookup {
        /// The cached value of the record and its type.
        case hit([UInt8], ValueType)
        /// Not cached; `admit` says whether the value, once read, is worth keeping
        /// (``insert(_:key:expiresAt:for:after:)``), and `epoch` is the shard's at the lookup:
        /// a value read before a ``removeAll()`` is not kept after it.
        case miss(admit: Bool, epoch: UInt64)

        /// Whether the value, once read, is to be inserted.
        var admits: Bool {
            if case .miss(admit: true, _) = self { return true }
            return false
        }
    }

    /// The cached value of the record `entry` points at, when it is the record of `key` and
    /// has not expired at `now`; on a miss, whether to keep the value once it is read (one
    /// hold of the shard's lock for both).
    func value(for entry: IndexEntry, key: UnsafeRawBufferPointer, now: Int64) -> Lookup {
        guard isEnabled else { return .miss(admit: false, epoch: 0) }
        let found = shard(entry.keyHash).withLock { $0.lookup(entry, key: key, now: now) }
        if case .hit = found { hits.add(1, ordering: .relaxed) }
        return found
    }

    /// Keeps `value`, just read from the verified record that `entry` points at, with the
    /// record's own expiry (milliseconds, 0 for never), when `lookup` (the miss that led to
    /// the read) admitted it and nothing was forgotten since. A value larger than a quarter
    /// of a shard is not kept: it would push out many hot ones for one read.
    func insert(_ value: [UInt8], type: ValueType, key: UnsafeRawBufferPointer, expiresAt: Int64, for entry: IndexEntry,
                after lookup: Lookup) {
        guard case .miss(admit: true, let epoch) = lookup,
              fits(valueCount: value.count, keyCount: key.count) else { return }
        let cost = value.count + key.count + Self.overheadBytes
        let slot = Slot(entry: entry, key: [UInt8](key), value: value, type: type, expiresAt: expiresAt, cost: cost)
        shard(entry.keyHash).withLock { s in
            if s.epoch == epoch { s.insert(slot) }
        }
    }

    /// Whether a value of `valueCount` bytes under a key of `keyCount` may be kept: what a
    /// caller asks before it makes an array of a value it only borrowed.
    func fits(valueCount: Int, keyCount: Int) -> Bool {
        isEnabled && valueCount + keyCount + Self.overheadBytes <= capacity / Self.shardCount / 4
    }

    /// Forgets every value: those of `removeAll`, whose records are gone, or all of them when
    /// records this handle read were cut back. Values being read meanwhile are not kept.
    func removeAll() {
        for s in shards {
            s.withLock { s in
                let epoch = s.epoch &+ 1
                s = Shard(capacity: s.capacity)
                s.epoch = epoch
            }
        }
    }

    /// Values and bytes held now.
    var usage: (entries: Int, bytes: Int) {
        shards.reduce(into: (0, 0)) { total, s in
            s.withLock { total.0 += $0.index.count; total.1 += $0.bytes }
        }
    }

    private func shard(_ keyHash: UInt64) -> Lock<Shard> {
        // The hash's top bits: the index's buckets use the low ones.
        shards[Int(truncatingIfNeeded: keyHash >> 60) & (Self.shardCount - 1)]
    }

    struct Slot {
        /// Where the record is and its length: a lookup whose entry says otherwise misses.
        var segment: UInt32
        var offset: UInt32
        var length: UInt32
        var keyHash: UInt64
        var key: [UInt8]
        var value: [UInt8]
        var type: ValueType
        var expiresAt: Int64
        /// Bytes counted for the slot; 0 for a free slot.
        var cost: Int
        var referenced = false

        init(entry: IndexEntry, key: [UInt8], value: [UInt8], type: ValueType, expiresAt: Int64, cost: Int) {
            segment = entry.segment
            offset = entry.offset
            length = entry.length
            keyHash = entry.keyHash
            self.key = key
            self.value = value
            self.type = type
            self.expiresAt = expiresAt
            self.cost = cost
        }
    }

    /// One shard: slots in a ring that the CLOCK hand walks, and the slot of each key hash
    /// (one value per hash: a newer record of the key, or a hash twin's, replaces it).
    ///
    /// A value is admitted on its key's second miss within a window (a "doorkeeper": one bit
    /// per hash bucket, cleared every `window` misses), so that keys read once, as in a scan
    /// or uniform reads over far more keys than fit, do not churn the hot ones out and do not
    /// pay for an insertion each. The window is as many misses as the shard holds values: a
    /// key missed twice within it comes back sooner than the shard turns over, so keeping it
    /// pays.
    struct Shard {
        let capacity: Int
        var slots: [Slot] = []
        var freeSlots: [Int] = []
        var index: [UInt64: Int] = [:]
        var hand = 0
        var bytes = 0
        var seen = [UInt64](repeating: 0, count: Shard.seenWords)
        var missesInWindow = 0
        var window = Shard.minimumWindow
        /// Moves on at each ``HotValues/removeAll()``: a value looked up before is not inserted.
        var epoch: UInt64 = 0
        /// 8,192 bits: at most one in eight set while the window is under 1,024 misses.
        static let seenWords = 128
        static let minimumWindow = 128

        init(capacity: Int) { self.capacity = capacity }

        /// The value of the record `entry` points at when it is cached for `key` and unexpired;
        /// otherwise whether to keep it once read: yes when it replaces an older value of the
        /// hash (the key was hot), or on the second miss of its doorkeeper bit in the window.
        mutating func lookup(_ entry: IndexEntry, key: UnsafeRawBufferPointer, now: Int64) -> Lookup {
            guard let i = index[entry.keyHash] else { return .miss(admit: admits(entry.keyHash), epoch: epoch) }
            guard slots[i].segment == entry.segment, slots[i].offset == entry.offset, slots[i].length == entry.length,
                  slots[i].expiresAt == 0 || slots[i].expiresAt > now,
                  slots[i].key.elementsEqual(key)
            else { return .miss(admit: true, epoch: epoch) }
            if !slots[i].referenced { slots[i].referenced = true }
            return .hit(slots[i].value, slots[i].type)
        }

        /// The doorkeeper's answer for a hash with no value here.
        private mutating func admits(_ keyHash: UInt64) -> Bool {
            missesInWindow += 1
            if missesInWindow >= window {
                for w in seen.indices { seen[w] = 0 }
                missesInWindow = 0
                window = max(Self.minimumWindow, index.count)
            }
            let bit = Int(truncatingIfNeeded: keyHash) & (Self.seenWords * 64 - 1)
            let mask = UInt64(1) << UInt64(bit & 63)
            if seen[bit >> 6] & mask != 0 { return true }
            seen[bit >> 6] |= mask
            return false
        }

        mutating func insert(_ slot: Slot) {
            if let i = index[slot.keyHash] { remove(at: i) }
            while bytes + slot.cost > capacity, !index.isEmpty { evictOne() }
            let i: Int
            if let free = freeSlots.popLast() {
                i = free
                slots[i] = slot
            } else {
                i = slots.count
                slots.append(slot)
            }
            index[slot.keyHash] = i
            bytes += slot.cost
        }

        /// Moves the hand to the first slot not referenced since it last passed, clearing the
        /// bits it passes, and evicts that one.
        private mutating func evictOne() {
            while true {
                if hand >= slots.count { hand = 0 }
                let i = hand
                hand += 1
                guard slots[i].cost > 0 else { continue }
                if slots[i].referenced {
                    slots[i].referenced = false
                } else {
                    remove(at: i)
                    return
                }
            }
        }

        private mutating func remove(at i: Int) {
            guard slots[i].cost > 0 else { return }
            index[slots[i].keyHash] = nil
            bytes -= slots[i].cost
            slots[i].cost = 0
            slots[i].key = []
            slots[i].value = []
            freeSlots.append(i)
        }
    }
}
