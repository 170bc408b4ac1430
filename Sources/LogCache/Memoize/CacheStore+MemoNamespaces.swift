/// One namespace of memoized results as the store holds it now.
public struct MemoNamespaceSummary: Sendable, Equatable, Codable {
    /// The namespace.
    public var namespace: String
    /// Live entries per version.
    public var versions: [String: Int] = [:]
    /// Live entries of every version.
    public var entries = 0
    /// Bytes of their records as stored.
    public var storedBytes = 0
    /// Entries that hold a cached failure rather than a result.
    public var failures = 0
    /// The computation time recorded with the entries, summed: what one more hit on each
    /// would save.
    public var computeTime: Duration = .zero

    /// A summary of the given figures; by default one with no entries yet, whose counts are
    /// added up entry by entry.
    public init(namespace: String, versions: [String: Int] = [:], entries: Int = 0, storedBytes: Int = 0,
                failures: Int = 0, computeTime: Duration = .zero) {
        self.namespace = namespace
        self.versions = versions
        self.entries = entries
        self.storedBytes = storedBytes
        self.failures = failures
        self.computeTime = computeTime
    }
}

extension CacheStore {
    /// The live memo entries of `namespace` (of one `version` when given), in log order.
    public func memoEntries(namespace: String, version: String? = nil, limit: Int? = nil) throws -> [EntryInfo] {
        try entries(prefix: Array(MemoKey.prefix(namespace: namespace, version: version).utf8), limit: limit)
    }

    /// Removes every memo entry of `namespace`, or of one `version` of it; returns how many
    /// there were. Entries of other namespaces, and keys that are not memo keys, stay.
    @discardableResult
    public func removeMemoized(namespace: String, version: String? = nil) throws -> Int {
        var keys: [[UInt8]] = []
        try forEachEntry(prefix: Array(MemoKey.prefix(namespace: namespace, version: version).utf8)) {
            keys.append($0.key)
            return true
        }
        var removed = 0
        for key in keys where try removeValue(forKey: key) { removed += 1 }
        return removed
    }

    /// Every namespace with live memo entries, sorted by name, with its versions, sizes and
    /// the computation time its entries recorded.
    ///
    /// Each entry's value is read for its recorded time, so this reads every memo entry.
    public func memoNamespaces() throws(CacheError) -> [MemoNamespaceSummary] {
        var found: [String: MemoNamespaceSummary] = [:]
        try forEachValue(prefix: Array(MemoKey.storePrefix.utf8)) { info, value in
            guard let key = MemoKey(storeKey: String(decoding: info.key, as: UTF8.self)) else { return true }
            var summary = found[key.namespace] ?? MemoNamespaceSummary(namespace: key.namespace)
            summary.versions[key.version, default: 0] += 1
            summary.entries += 1
            summary.storedBytes += info.recordLength
            if let header = MemoEntry.header(value) {
                summary.computeTime += header.computeTime
                if header.kind == .failure { summary.failures += 1 }
            }
            found[key.namespace] = summary
            return true
        }
        return found.values.sorted { $0.namespace.utf8.lexicographicallyPrecedes($1.namespace.utf8) }
    }
}
