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
            guard leader else {
                if let shared = try sharedResult(flight.wait(), key: key, as: Value.self) { return shared }
                continue
            }
            let led = Result { () throws -> (Value, [UInt8]) in
                let lock = try MemoLock.acquire(storeDirectory: store.directory, key: key)
                defer { lock.release() }
                // Another process may have computed the key while this one waited for the lock.
                if let found = try storedResult(key, in: store, as: Value.self) { return found }
                let start = ContinuousClock.now
                return try keep(Result(catching: compute), key: key, in: store, ttl: ttl, errors: errors, since: start)
            }
            return try land(flight, key: key, led)
        }
    }

    /// The `async` `memoize`: waiting callers suspend rather than block their threads.
    func memoize<Value: Codable>(
        _ key: MemoKey, in store: CacheStore, ttl: Duration?, errors: ErrorCaching, compute: () async throws -> Value
    ) async throws -> Value {
        while true {
            if let (hit, _) = try storedResult(key, in: store, as: Value.self) { return hit }
            let (flight, leader) = join(key)
            guard leader else {
                if let shared = try sharedResult(await flight.wait(), key: key, as: Value.self) { return shared }
                continue
            }
            var led: Result<(Value, [UInt8]), any Error>
            do {
                let lock = try await MemoLock.acquire(storeDirectory: store.directory, key: key)
                defer { lock.release() }
                if let found = try storedResult(key, in: store, as: Value.self) {
                    led = .success(found)
                } else {
                    let start = ContinuousClock.now
                    var computed: Result<Value, any Error>
                    do { computed = .success(try await compute()) } catch { computed = .failure(error) }
                    led = Result { try keep(computed, key: key, in: store, ttl: ttl, errors: errors, since: start) }
                }
            } catch {
                led = .failure(error)
            }
            return try land(flight, key: key, led)
        }
    }

    /// Ends the flight the caller led with what it found or computed (its waiters get the
    /// entry's bytes or the error), and returns the result or throws the error.
    private func land<Value>(_ flight: MemoFlight, key: MemoKey, _ led: Result<(Value, [UInt8]), any Error>) throws -> Value {
        switch led {
        case .success(let (value, record)):
            land(flight, key: key, outcome: .record(record))
            return value
        case .failure(let error):
            land(flight, key: key, outcome: .failure(error))
            throw error
        }
    }

    /// Stores what a computation started at `start` ended with: its result with the time it
    /// took (returned with the entry's bytes), or its failure when `errors` says so (thrown).
    private func keep<Value: Encodable>(
        _ computed: Result<Value, any Error>, key: MemoKey, in store: CacheStore, ttl: Duration?,
        errors: ErrorCaching, since start: ContinuousClock.Instant
    ) throws -> (Value, [UInt8]) {
        let elapsed = ContinuousClock.now - start
        switch computed {
        case .success(let value):
            return (value, try storeResult(value, key: key, in: store, ttl: ttl, elapsed: elapsed))
        case .failure(let error):
            computeFailed(error, key: key, in: store, errors: errors, elapsed: elapsed)
            throw error
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
