extension CacheStore {
    /// The stored result of `compute` for `request`, computing and storing it on a miss.
    ///
    /// ```swift
    /// let answer = try store.memoize(namespace: "search", version: "2", key: query) {
    ///     try search(query)
    /// }
    /// ```
    ///
    /// The key is the SHA-256 of the request's canonical encoding (``CanonicalEncoder``)
    /// under `namespace` and `version` (``MemoKey``): the same request gives the same key in
    /// every process and run, and any field that differs gives another key. Bump `version`
    /// when the computation changes: every older result of the namespace then misses.
    ///
    /// Only one caller computes a key at a time. Callers of the same key in this process,
    /// threads or tasks, wait for the computing one and get its result (or its error);
    /// callers in other processes wait on the key's ``MemoLock`` and then read the stored
    /// result. If the computing process dies, the lock passes to the next waiter, which
    /// computes. Waiting blocks the calling thread: in `async` code use the `async` form.
    ///
    /// - Parameters:
    ///   - namespace: the kind of call; listed and cleared as a whole by `cachectl`.
    ///   - version: the version of the computation.
    ///   - request: everything that decides the result.
    ///   - excluding: names of fields of `request` that do not decide the result (a logger,
    ///     a timestamp, credentials), left out of the key at any depth.
    ///   - ttl: how long the result lives; nil for the store's default TTL.
    ///   - errors: whether a failure is stored too (by default it is not).
    ///   - compute: the slow call; it must not memoize the same key itself.
    /// - Returns: the stored or computed result.
    /// - Throws: what `compute` throws; ``MemoError`` for an invalid namespace, version or
    ///   request, or a cached failure; ``CacheError`` when the store fails (a result that
    ///   cannot be stored, too large for the store say, is an error too, not a silent miss).
    public func memoize<Request: Encodable, Value: Codable>(
        namespace: String, version: String, key request: Request, excluding: Set<String> = [],
        ttl: Duration? = nil, errors: ErrorCaching = .never, compute: () throws -> Value
    ) throws -> Value {
        let key = try MemoKey(namespace: namespace, version: version, request: request, excluding: excluding)
        return try memoize(key, ttl: ttl, errors: errors, compute: compute)
    }

    /// The stored result of `compute` under a key made beforehand, with the behaviour of
    /// the form that takes the request.
    public func memoize<Value: Codable>(
        _ key: MemoKey, ttl: Duration? = nil, errors: ErrorCaching = .never, compute: () throws -> Value
    ) throws -> Value {
        while true {
            if let (hit, _) = try storedResult(key, as: Value.self) { return hit }
            let (flight, leader) = memo.join(key)
            if !leader {
                if let shared = try sharedResult(flight.wait(), key: key, as: Value.self) { return shared }
                continue
            }
            var outcome = MemoFlight.Outcome.failure(CancellationError())
            defer { memo.land(flight, key: key, outcome: outcome) }
            do {
                let lock = try MemoLock.acquire(storeDirectory: directory, key: key)
                defer { lock.release() }
                // Another process may have computed the key while this one waited for the lock.
                if let (hit, record) = try storedResult(key, as: Value.self) {
                    outcome = .record(record)
                    return hit
                }
                let start = ContinuousClock.now
                let value: Value
                do {
                    value = try compute()
                } catch {
                    computeFailed(error, key: key, errors: errors, elapsed: ContinuousClock.now - start)
                    throw error
                }
                let record = try storeResult(value, key: key, ttl: ttl, elapsed: ContinuousClock.now - start)
                outcome = .record(record)
                return value
            } catch {
                outcome = .failure(error)
                throw error
            }
        }
    }

    /// The stored result of an `async` computation for `request`, computing and storing it on
    /// a miss, with the key, single flight, TTL and errors of the synchronous form.
    ///
    /// Waiting callers suspend rather than block their threads: for a computation in this
    /// process they wait on a continuation, for one in another process they poll the key's
    /// ``MemoLock`` with growing pauses (1 to 50 ms). A task cancelled while it waits for the
    /// lock throws `CancellationError`; if the computing task is cancelled, a waiting caller
    /// computes in its place rather than failing.
    public func memoize<Request: Encodable, Value: Codable>(
        namespace: String, version: String, key request: Request, excluding: Set<String> = [],
        ttl: Duration? = nil, errors: ErrorCaching = .never, compute: () async throws -> Value
    ) async throws -> Value {
        let key = try MemoKey(namespace: namespace, version: version, request: request, excluding: excluding)
        return try await memoize(key, ttl: ttl, errors: errors, compute: compute)
    }

    /// The stored result of an `async` computation under a key made beforehand.
    public func memoize<Value: Codable>(
        _ key: MemoKey, ttl: Duration? = nil, errors: ErrorCaching = .never, compute: () async throws -> Value
    ) async throws -> Value {
        while true {
            if let (hit, _) = try storedResult(key, as: Value.self) { return hit }
            let (flight, leader) = memo.join(key)
            if !leader {
                if let shared = try sharedResult(await flight.wait(), key: key, as: Value.self) { return shared }
                continue
            }
            var outcome = MemoFlight.Outcome.failure(CancellationError())
            defer { memo.land(flight, key: key, outcome: outcome) }
            do {
                let lock = try await MemoLock.acquire(storeDirectory: directory, key: key)
                defer { lock.release() }
                if let (hit, record) = try storedResult(key, as: Value.self) {
                    outcome = .record(record)
                    return hit
                }
                let start = ContinuousClock.now
                let value: Value
                do {
                    value = try await compute()
                } catch {
                    computeFailed(error, key: key, errors: errors, elapsed: ContinuousClock.now - start)
                    throw error
                }
                let record = try storeResult(value, key: key, ttl: ttl, elapsed: ContinuousClock.now - start)
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
    private func storedResult<Value: Decodable>(_ key: MemoKey, as type: Value.Type) throws -> (Value, [UInt8])? {
        guard let bytes = try value(forKey: key.storeKey), let header = MemoEntry.header(bytes) else { return nil }
        switch header.kind {
        case .failure:
            memo.count(key.namespace) { $0.hits += 1; $0.timeSaved += header.computeTime }
            throw MemoError.cachedFailure(namespace: key.namespace, message: header.failure ?? "")
        case .value:
            guard let value = MemoEntry.value(Value.self, bytes) else { return nil }
            memo.count(key.namespace) { $0.hits += 1; $0.timeSaved += header.computeTime }
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
            memo.count(key.namespace) { $0.joined += 1 }
            throw error
        case .record(let bytes):
            guard let value = MemoEntry.value(Value.self, bytes) else {
                throw CacheError.coding("the result stored under \(key.storeKey) by another caller is not a \(Value.self)")
            }
            memo.count(key.namespace) { $0.joined += 1 }
            return value
        }
    }

    /// Stores a computed result with the time it took; returns the entry's bytes.
    private func storeResult<Value: Encodable>(
        _ value: Value, key: MemoKey, ttl: Duration?, elapsed: Duration
    ) throws(CacheError) -> [UInt8] {
        memo.count(key.namespace) { $0.misses += 1; $0.computeTime += elapsed }
        let record = try MemoEntry.encode(value: value, computeTime: elapsed)
        try set(record, forKey: key.storeKey, ttl: ttl)
        return record
    }

    /// Counts a failed computation and stores it when `errors` says so. A failure to store
    /// it is not reported: the computation's own error, which the caller gets, matters more.
    private func computeFailed(_ error: any Error, key: MemoKey, errors: ErrorCaching, elapsed: Duration) {
        memo.count(key.namespace) { $0.misses += 1; $0.failures += 1; $0.computeTime += elapsed }
        guard !(error is CancellationError), let ttl = errors.ttl(for: error),
              let record = try? MemoEntry.encode(failure: "\(error)", computeTime: elapsed)
        else { return }
        try? set(record, forKey: key.storeKey, ttl: ttl)
    }
}
