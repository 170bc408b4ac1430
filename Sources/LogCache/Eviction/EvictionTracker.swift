import Synchronization

/// The store's eviction state: its policy and a heap of the entries with an expiry, soonest
/// first, so that expired entries are reclaimed before any live entry is evicted.
///
/// Index changes reach it through ``LiveSet`` under the index's write lock; hits reach it
/// from readers, which hold only the index's read lock, hence its own mutex. Slots are the
/// index's slots, so the policy needs no map of its own.
///
/// The policy counts in bytes (each entry's record length) when the store has a byte
/// capacity, else in entries (every size 1): the policies that split their capacity (S3-FIFO,
/// W-TinyLFU, ARC, 2Q) must measure their queues in the unit the capacity is in.
final class EvictionTracker: Sendable {
    let kind: PolicyKind
    /// The capacity in the policy's unit.
    let capacity: Int
    /// Whether the policy counts entries rather than bytes.
    let countsEntries: Bool
    private let state: Lock<State>

    private struct State: @unchecked Sendable {
        var policy: any PersistablePolicy
        /// Slots with an expiry, keyed by it in milliseconds.
        var expiry = SlotHeap()
        /// Insertion counter: ties in expiry go to the older entry.
        var sequence: UInt64 = 0

        mutating func trackExpiry(_ slot: UInt32, _ expiresAt: Int64) {
            guard expiresAt != 0 else { return }
            sequence += 1
            expiry.push(slot, priority: expiresAt, order: sequence)
        }

        mutating func forget(_ slot: UInt32) {
            if expiry.contains(slot) { expiry.remove(slot) }
        }
    }

    /// A policy of `kind` for a store of `capacityBytes` (counted in bytes) or else of
    /// `capacityEntries` (counted in entries).
    init(kind: PolicyKind, capacityBytes: Int?, capacityEntries: Int?) {
        self.kind = kind
        countsEntries = capacityBytes == nil && capacityEntries != nil
        capacity = (countsEntries ? capacityEntries : capacityBytes) ?? .max
        state = Lock(State(policy: kind.makeStorePolicy(capacity: capacity)))
    }

    /// An empty tracker with this one's policy and capacity.
    func emptyCopy() -> EvictionTracker {
        EvictionTracker(kind: kind, capacityBytes: countsEntries ? nil : capacity, capacityEntries: countsEntries ? capacity : nil)
    }

    /// The size of an entry of `length` bytes in the policy's unit.
    private func units(_ length: Int) -> Int { countsEntries ? 1 : length }

    /// A new key entered the index at `slot`: to the policy, a miss on it and its insertion
    /// (ARC and 2Q look the key up among their ghosts, W-TinyLFU counts it in its sketch).
    func inserted(_ slot: UInt32, keyHash: UInt64, size: Int, expiresAt: Int64) {
        let size = units(size)
        state.withLock { s in
            s.policy.willMiss(key: keyHash, size: size)
            s.policy.insert(slot, key: keyHash, size: size, expiresAt: expiresAt)
            s.trackExpiry(slot, expiresAt)
        }
    }

    /// A key was read.
    func accessed(_ slot: UInt32) {
        state.withLock { $0.policy.access(slot) }
    }

    /// A key left the index for a reason of its own (removed, replaced, expired).
    func removed(_ slot: UInt32) {
        state.withLock { s in
            s.policy.remove(slot)
            s.forget(slot)
        }
    }

    /// The next entry to give up: an expired one if any (`expired` true), else the policy's
    /// victim. The tracker forgets it; the caller removes it from the index.
    func nextVictim(now: Int64) -> (slot: UInt32, expired: Bool)? {
        state.withLock { s in
            if let soonest = s.expiry.minimum, s.expiry.priority(of: soonest) <= now {
                s.forget(soonest)
                s.policy.remove(soonest)
                return (soonest, true)
            }
            guard let victim = s.policy.evict() else { return nil }
            s.forget(victim)
            return (victim, false)
        }
    }

    /// A victim the policy chose beyond those asked for (W-TinyLFU's round of admissions, or
    /// a hit that overflowed its probation), or nil; taken after ``nextVictim(now:)`` makes
    /// room. The tracker forgets it; the caller removes it from the index.
    func extraVictim() -> UInt32? {
        state.withLock { s in
            guard let victim = s.policy.evictBeforeInsert() else { return nil }
            s.forget(victim)
            return victim
        }
    }

    /// Bytes of policy and expiry-heap state per live entry.
    func metadataBytesPerEntry(liveEntries: Int) -> Double {
        state.withLock { s in
            Double(s.policy.metadataBytesPerObject)
                + Double(s.expiry.count * SlotHeap.bytesPerSlot) / Double(max(liveEntries, 1))
        }
    }

    /// The policy's order as key hashes, and its extras, for the `POLICY` file.
    func snapshot(index: KeyIndex) -> PolicySnapshot {
        let (order, extras) = state.withLock { ($0.policy.persistentState(), $0.policy.persistentExtras()) }
        var entries: [(keyHash: UInt64, value: UInt32)] = []
        entries.reserveCapacity(order.count)
        for (slot, value) in order where Int(slot) < index.slotCapacity {
            entries.append((index[slot].keyHash, value))
        }
        return PolicySnapshot(policy: kind, entries: entries, extras: extras)
    }

    /// Fills the policy for a freshly loaded index: first the saved order (keys still live)
    /// and the saved extras, then every other live key in log order, as if just written.
    /// Expiry comes back in whole seconds: the index keeps no finer grain.
    func load(index: KeyIndex, snapshot: PolicySnapshot?, logOrder: [UInt32]) {
        state.withLock { s in
            var restored = [Bool](repeating: false, count: index.slotCapacity)
            if let snapshot, snapshot.policy == kind {
                for (hash, value) in snapshot.entries {
                    guard let slot = index.slot(of: hash), !restored[Int(slot)] else { continue }
                    let e = index[slot]
                    s.policy.restore(slot, key: hash, size: units(Int(e.length)), expiresAt: e.expiryNotBefore, value: value)
                    restored[Int(slot)] = true
                }
                s.policy.restoreExtras(snapshot.extras)
            }
            for slot in logOrder where !restored[Int(slot)] {
                let e = index[slot]
                let size = units(Int(e.length))
                s.policy.willMiss(key: e.keyHash, size: size)
                s.policy.insert(slot, key: e.keyHash, size: size, expiresAt: e.expiryNotBefore)
            }
            for slot in logOrder { s.trackExpiry(slot, index[slot].expiryNotBefore) }
        }
    }
}
