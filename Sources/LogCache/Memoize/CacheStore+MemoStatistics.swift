extension CacheStore {
    /// This handle's memoization statistics, one entry per namespace used since it was opened.
    public var memoStatistics: [String: MemoStatistics] {
        memo.statistics.withLock { $0 }
    }

    /// This handle's memoization statistics for one namespace (all zero if it was not used).
    public func memoStatistics(namespace: String) -> MemoStatistics {
        memo.statistics.withLock { $0[namespace] ?? MemoStatistics() }
    }
}
