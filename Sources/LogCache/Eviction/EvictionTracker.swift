import Synchronization

/// The store's eviction state: its policy and a heap of the entries with an expiry, soonest
/// first, so that expired entries are reclaimed before any live entry is evicted.
///
/// Index changes reach it through ``LiveSet`` under the index's write lock; hits reach it
/// from readers, which hold only the index's read lock, hence its own mutex. Slots are the
/// index's slots, so the policy needs no map of its own.
final class EvictionTracker: Sendable {
    let kind: PolicyKind
    let capacity: Int
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

    init(kind: PolicyKind, capacity: Int) {
        self.kind = kind
        self.capacity = capacity
        state = Lock(State(policy: kind.makeStorePolicy(capacity: capacity)))
    }

    /// A new key entered the index at `slot`.
    func inserted(_ slot: UInt32, keyHash: UInt64, size: Int, expiresAt: Int64) {
        state.withLock { s in
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

    /// Bytes of policy and expiry-heap state per live entry.
    func metadataBytesPerEntry(liveEntries: Int) -> Double {
        state.withLock { s in
            Double(s.policy.metadataBytesPerObject)
                + Double(s.expiry.count * SlotHeap.bytesPerSlot) / Double(max(liveEntries, 1))
        }
    }

    /// The policy's order as key hashes, for the `POLICY` file.
    func snapshot(index: KeyIndex) -> PolicySnapshot {
        let order = state.withLock { $0.policy.persistentState() }
        var entries: [(keyHash: UInt64, value: UInt32)] = []
        entries.reserveCapacity(order.count)
        for (slot, value) in order where Int(slot) < index.slotCapacity {
            entries.append((index[slot].keyHash, value))
        }
        return PolicySnapshot(policy: kind, entries: entries)
    }

    /// Fills the policy for a freshly loaded index: first the saved order (keys still live),
    /// then every other live key in log order, as if just written. Expiry comes back in whole
    /// seconds: the index keeps no finer grain.
    func load(index: KeyIndex, snapshot: PolicySnapshot?, logOrder: [UInt32]) {
        state.withLock { s in
            var restored = [Bool](repeating: false, count: index.slotCapacity)
            if let snapshot, snapshot.policy == kind {
                for (hash, value) in snapshot.entries {
                    guard let slot = index.slot(of: hash), !restored[Int(slot)] else { continue }
                    let e = index[slot]
                    s.policy.restore(slot, key: hash, size: Int(e.length), expiresAt: e.expiryNotBefore, value: value)
                    restored[Int(slot)] = true
                }
            }
            for slot in logOrder where !restored[Int(slot)] {
                let e = index[slot]
                s.policy.insert(slot, key: e.keyHash, size: Int(e.length), expiresAt: e.expiryNotBefore)
            }
            for slot in logOrder { s.trackExpiry(slot, index[slot].expiryNotBefore) }
        }
    }
}
