import Synchronization

/// Memoization's machinery for one store handle: the computations in flight in this process
/// (single flight), the per-namespace statistics, and the steps of ``CacheStore``'s
/// `memoize` forms. The store it works on is passed to each call, so this type holds no
/// reference to it and the store holds none of this state but the instance.
final class Memoizer: Sendable {
    /// Flights by store key.
    let flights = Lock<[String: MemoFlight]>([:])
    /// Statistics by namespace.
    let statistics = Lock<[String: MemoStatistics]>([:])

    init() {}

    /// The flight of `key`: a new one that the caller leads, or the one in progress it joins.
    func join(_ key: MemoKey) -> (flight: MemoFlight, leader: Bool) {
        flights.withLock { table in
            if let existing = table[key.storeKey] { return (existing, false) }
            let flight = MemoFlight()
            table[key.storeKey] = flight
            return (flight, true)
        }
    }

    /// Ends the leader's flight: later callers start afresh (and find the stored result), the
    /// waiters get `outcome`.
    func land(_ flight: MemoFlight, key: MemoKey, outcome: MemoFlight.Outcome) {
        flights.withLock { table in
            if table[key.storeKey] === flight { table[key.storeKey] = nil }
        }
        flight.finish(outcome)
    }

    /// Updates the statistics of `namespace`.
    func count(_ namespace: String, _ change: (inout MemoStatistics) -> Void) {
        statistics.withLock { change(&$0[namespace, default: MemoStatistics()]) }
    }

    /// The synchronous `memoize` (CacheStore+Memoize.swift documents the behaviour).
    func memoize<Value: Codable>(
        _ key: MemoKey, in store: CacheStore, ttl: Duration?, errors: ErrorCaching, compute: () throws -> Value
    ) throws -> Value {
        while true {
            if let (hit, _) = try storedResult(key, in: store, as: Value.self) { return hit }
            let (flight, leader) = join(key)
            if !leader {
                if let shared = try sharedResult(flight.wait(), key: key, as: Value.self) { return shared }
                continue
            }
            var outcome = MemoFlight.Outcome.failure(CancellationError())
            defer { land(flight, key: key, outcome: outcome) }
            do {
                let lock = try MemoLock.acquire(storeDirectory: store.directory, key: key)
                defer { lock.release() }
                // Another process may have computed the key while this one waited for the lock.
                if let (hit, record) = try storedResult(key, in: store, as: Value.self) {
                    outcome = .record(record)
                    return hit
                }
                let start = ContinuousClock.now
                let value: Value
                do {
                    value = try compute()
                } catch {
                    computeFailed(error, key: key, in: store, errors: errors, elapsed: ContinuousClock.now - start)
                    throw error
                }
                let record = try storeResult(value, key: key, in: store, ttl: ttl, elapsed: ContinuousClock.now - start)
                outcome = .record(record)
                return value
            } catch {
                outcome = .failure(error)
                throw error
            }
        }
    }

    /// The `async` `memoize`: waiting callers suspend rather than block their threads.
    func memoize<Value: Codable>(
        _ key: MemoKey, in store: CacheStore, ttl: Duration?, errors: ErrorCaching, compute: () async throws -> Value
    ) async throws -> Value {
        while true {
            if let (hit, _) = try storedResult(key, in: store, as: Value.self) { return hit }
            let (flight, leader) = join(key)
            if !leader {
                if let shared = try sharedResult(await flight.wait(), key: key, as: Value.self) { return shared }
                continue
            }
            var outcome = MemoFlight.Outcome.failure(CancellationError())
            defer { land(flight, key: key, outcome: outcome) }
            do {
                let lock = try await MemoLock.acquire(storeDirectory: store.directory, key: key)
                defer { lock.release() }
                if let (hit, record) = try storedResult(key, in: store, as: Value.self) {
                    outcome = .record(record)
                    return hit
                }
                let start = ContinuousClock.now
                let value: Value
                do {
                    value = try await compute()
                } catch {
                    computeFailed(error, key: key, in: store, errors: errors, elapsed: ContinuousClock.now - start)
                    throw error
                }
                let record = try storeResult(value, key: key, in: store, ttl: ttl, elapsed: ContinuousClock.now - start)
                outcome = .record(record)
                return value
            } catch {
                outcome = .failure(error)
                throw error
            }
        }
    }

    // MARK: Steps shared by both forms

    /// The stored result of `key` and the entry's bytes; nil on a miss. An entry whose result
    /// does not decode as `Value` is a miss too, so it is computed again and replaced.
    ///
    /// - Throws: ``MemoError/cachedFailure(namespace:message:)`` for a cached failure.
    private func storedResult<Value: Decodable>(_ key: MemoKey, in store: CacheStore, as type: Value.Type) throws -> (Value, [UInt8])? {
        guard let bytes = try store.value(forKey: key.storeKey), let header = MemoEntry.header(bytes) else { return nil }
        switch header.kind {
        case .failure:
            count(key.namespace) { $0.hits += 1; $0.timeSaved += header.computeTime }
            throw MemoError.cachedFailure(namespace: key.namespace, message: header.failure ?? "")
        case .value:
            guard let value = MemoEntry.value(Value.self, bytes) else { return nil }
            count(key.namespace) { $0.hits += 1; $0.timeSaved += header.computeTime }
            return (value, bytes)
        }
    }

    /// What a caller that waited for another caller's computation returns: its result, its
    /// error thrown again, or nil when that caller was cancelled and this one should start over.
    private func sharedResult<Value: Decodable>(
        _ outcome: MemoFlight.Outcome, key: MemoKey, as type: Value.Type
    ) throws -> Value? {
        switch outcome {
        case .failure(let error):
            if error is CancellationError { return nil }
            count(key.namespace) { $0.joined += 1 }
            throw error
        case .record(let bytes):
            guard let value = MemoEntry.value(Value.self, bytes) else {
                throw CacheError.coding("the result stored under \(key.storeKey) by another caller is not a \(Value.self)")
            }
            count(key.namespace) { $0.joined += 1 }
            return value
        }
    }

    /// Stores a computed result with the time it took; returns the entry's bytes.
    private func storeResult<Value: Encodable>(
        _ value: Value, key: MemoKey, in store: CacheStore, ttl: Duration?, elapsed: Duration
    ) throws(CacheError) -> [UInt8] {
        count(key.namespace) { $0.misses += 1; $0.computeTime += elapsed }
        let record = try MemoEntry.encode(value: value, computeTime: elapsed)
        try store.set(record, forKey: key.storeKey, ttl: ttl)
        return record
    }

    /// Counts a failed computation and stores it when `errors` says so. A failure to store
    /// it is not reported: the computation's own error, which the caller gets, matters more.
    private func computeFailed(_ error: any Error, key: MemoKey, in store: CacheStore, errors: ErrorCaching, elapsed: Duration) {
        count(key.namespace) { $0.misses += 1; $0.failures += 1; $0.computeTime += elapsed }
        guard !(error is CancellationError), let ttl = errors.ttl(for: error),
              let record = try? MemoEntry.encode(failure: "\(error)", computeTime: elapsed)
        else { return }
        try? store.set(record, forKey: key.storeKey, ttl: ttl)
    }
}
