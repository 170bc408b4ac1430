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
        try memo.memoize(key, in: self, ttl: ttl, errors: errors, compute: compute)
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
        try await memo.memoize(key, in: self, ttl: ttl, errors: errors, compute: compute)
    }
}
