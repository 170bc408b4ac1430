import Foundation

/// What a memo key's entry holds, its result as JSON text: what a binding that cannot call
/// ``CacheStore/memoize(_:ttl:errors:compute:)-qalr`` with a closure (the C
/// ABI, the Python package) reads and writes, in the same entry layout, so that a result
/// memoized in one language is a hit in the other.
public enum MemoizedResult: Sendable, Equatable {
    /// A computed result (JSON text, UTF-8, as its writer wrote it) and how long the
    /// computation took.
    case value(json: [UInt8], computeTime: Duration)
    /// A cached failure's message and how long the failed computation took.
    case failure(message: String, computeTime: Duration)
}

/// The steps of memoization one at a time, for callers that run the computation themselves:
/// look up (``memoizedResult(for:)``), take the key's ``MemoLock`` on a miss, look up again,
/// compute, store (``storeMemoizedResult(json:for:computeTime:ttl:)``), release the lock.
/// The statistics of ``memoStatistics`` count them as the closure forms do.
extension CacheStore {
    /// The stored entry of `key`, or nil on a miss (also for an entry that is not a memo
    /// entry of a known layout, which a computation then replaces).
    public func memoizedResult(for key: MemoKey) throws(CacheError) -> MemoizedResult? {
        guard let bytes = try value(forKey: key.storeKey), let header = MemoEntry.header(bytes) else { return nil }
        let result: MemoizedResult
        switch header.kind {
        case .failure:
            result = .failure(message: header.failure ?? "", computeTime: header.computeTime)
        case .value:
            guard let json = MemoEntry.valueText(bytes) else { return nil }
            result = .value(json: json, computeTime: header.computeTime)
        }
        memo.count(key.namespace) { $0.hits += 1; $0.timeSaved += header.computeTime }
        return result
    }

    /// Stores the result of a computation, given as JSON text, under `key`, in the entry
    /// layout the closure forms write, and counts the miss that led to it.
    ///
    /// - Throws: ``CacheError/coding(_:)`` when `json` is not one JSON value, or the store's
    ///   errors.
    public func storeMemoizedResult(json: [UInt8], for key: MemoKey, computeTime: Duration,
                                    ttl: Duration? = nil) throws(CacheError) {
        let entry = try MemoEntry.encode(valueText: json, computeTime: computeTime)
        memo.count(key.namespace) { $0.misses += 1; $0.computeTime += computeTime }
        try set(entry, forKey: key.storeKey, ttl: ttl)
    }

    /// Counts a computation of `key` that failed and was not stored.
    public func countMemoizedFailure(for key: MemoKey, computeTime: Duration) {
        memo.count(key.namespace) { $0.misses += 1; $0.failures += 1; $0.computeTime += computeTime }
    }
}
