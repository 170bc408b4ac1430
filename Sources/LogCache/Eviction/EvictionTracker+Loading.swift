extension EvictionTracker {
    /// A policy for a loaded `index`: entries in the saved order first (`snapshot`, from the
    /// `POLICY` file or the index being replaced), then the others in log order (oldest
    /// first), which is the best guess of recency without one.
    static func loaded(for index: KeyIndex, settings: StoreSettings, manifest: Manifest,
                       snapshot: PolicySnapshot?) -> EvictionTracker {
        let tracker = EvictionTracker(kind: settings.policy, capacityBytes: settings.capacityBytes,
                                      capacityEntries: settings.capacityEntries)
        let position = Dictionary(uniqueKeysWithValues: manifest.segments.enumerated().map { ($1, $0) })
        var live: [(slot: UInt32, position: Int, offset: UInt32)] = []
        live.reserveCapacity(index.count)
        index.forEach { slot, e in live.append((slot, position[e.segment] ?? 0, e.offset)) }
        live.sort { ($0.position, $0.offset) < ($1.position, $1.offset) }
        tracker.load(index: index, snapshot: snapshot, logOrder: live.map(\.slot))
        return tracker
    }
}

extension StoreSettings {
    /// Whether the store has a capacity to keep (and so an eviction policy).
    var isBounded: Bool { capacityBytes != nil || capacityEntries != nil }
}
