import CLogCacheSupport

/// An open-addressing hash map from 64-bit object ids to slots.
///
/// The simulator looks up every request here and ghost lists remember keys here, so it avoids
/// `Dictionary`'s generic hashing: linear probing over one array of 16-byte entries, a
/// multiplicative hash, load kept at most one half, and backward-shift deletion (no tombstones,
/// so lookups never slow down after many removals).
public struct KeySlotMap: Sendable {
    @usableFromInline
    struct Entry: Sendable {
        @usableFromInline var key: UInt64
        @usableFromInline var value: UInt32
        @usableFromInline init(key: UInt64, value: UInt32) { self.key = key; self.value = value }
    }

    @usableFromInline var entries: [Entry]
    @usableFromInline var shift: UInt64
    @usableFromInline var mask: Int
    /// Keys stored.
    public var count: Int { stored }
    @usableFromInline var stored = 0

    /// An empty map sized for about `capacity` keys.
    public init(capacity: Int = 1024) {
        var bits = 4
        while (1 << bits) < capacity * 2 { bits += 1 }
        entries = Array(repeating: Entry(key: 0, value: noSlot), count: 1 << bits)
        shift = UInt64(64 - bits)
        mask = (1 << bits) - 1
    }

    @inlinable @inline(__always)
    static func home(_ key: UInt64, _ shift: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    /// Asks the processor to bring `key`'s first probe into the cache: a replay does this a
    /// few requests ahead, so that the lookup, a cache miss on a large table, overlaps the
    /// work on the requests before it. Changes nothing.
    @inlinable @inline(__always)
    public func prefetch(_ key: UInt64) {
        entries.withUnsafeBufferPointer { e in
            if let base = e.baseAddress { logcache_prefetch(base + Self.home(key, shift)) }
        }
    }

    /// The slot stored for `key`, or ``noSlot``.
    @inlinable @inline(__always)
    public func find(_ key: UInt64) -> UInt32 {
        let shift = shift, mask = mask
        return entries.withUnsafeBufferPointer { e in
            var i = Self.home(key, shift)
            while true {
                let entry = e[i]
                if entry.value == noSlot { return noSlot }
                if entry.key == key { return entry.value }
                i = (i + 1) & mask
            }
        }
    }

    // `set` and `remove` are inlinable, as `find` is: the simulator, in another module, calls
    // them for nearly every request, and a call each (with its own uniqueness check of the
    // table) was a sixth of a replay's time.

    /// Stores `value` for `key`, replacing any earlier value.
    @inlinable @inline(__always)
    public mutating func set(_ key: UInt64, _ value: UInt32) {
        if (stored + 1) * 2 > entries.count { resize(entries.count * 2) }
        let m = mask, shift = shift
        let inserted: Bool = entries.withUnsafeMutableBufferPointer { e in
            var i = Self.home(key, shift)
            while e[i].value != noSlot {
                if e[i].key == key { e[i].value = value; return false }
                i = (i + 1) & m
            }
            e[i] = Entry(key: key, value: value)
            return true
        }
        if inserted { stored += 1 }
    }

    /// Removes `key`; returns its slot, or ``noSlot`` when it was absent.
    @inlinable @inline(__always)
    @discardableResult
    public mutating func remove(_ key: UInt64) -> UInt32 {
        let m = mask, shift = shift
        let removed: UInt32 = entries.withUnsafeMutableBufferPointer { e in
            var i = Self.home(key, shift)
            while true {
                if e[i].value == noSlot { return noSlot }
                if e[i].key == key { break }
                i = (i + 1) & m
            }
            let value = e[i].value
            // Backward shift: pull later entries of the same probe run into the hole.
            var j = i
            while true {
                j = (j + 1) & m
                if e[j].value == noSlot { break }
                let h = Self.home(e[j].key, shift)
                if (j &- h) & m >= (j &- i) & m {
                    e[i] = e[j]
                    i = j
                }
            }
            e[i].value = noSlot
            return value
        }
        if removed != noSlot { stored -= 1 }
        return removed
    }

    @usableFromInline
    mutating func resize(_ size: Int) {
        let old = entries
        var bits = 4
        while (1 << bits) < size { bits += 1 }
        entries = Array(repeating: Entry(key: 0, value: noSlot), count: 1 << bits)
        shift = UInt64(64 - bits)
        mask = (1 << bits) - 1
        stored = 0
        for entry in old where entry.value != noSlot { set(entry.key, entry.value) }
    }

    /// Bytes the table occupies.
    public var memoryBytes: Int { entries.count * MemoryLayout<Entry>.stride }
}
