import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import LogCache
import LogCacheRedis
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// The caching proxy: answers the cacheable requests it has seen from its store, forwards
/// everything else, and stores the 2xx answers of cacheable requests (docs/proxy.md).
public final class CachingProxy: Sendable {
    public let options: ProxyOptions
    let store: CacheStore
    /// The shared tier behind the store (`--redis`): a local miss asks it, a stored answer
    /// goes to it too; nil without one.
    let shared: SharedCache?
    let client: HTTPClient
    let logger: Logger
    let statistics = ProxyStatistics()
    /// The memo keys of recent requests, by their bytes.
    let keyCache = KeyCache()
    /// Upstream calls in flight in this process, by store key: identical requests wait for
    /// the first one's answer instead of calling the upstream again.
    let flights = Mutex<[String: Task<Fetched, Never>]>([:])
    /// When the upstream fell silent (a call that got no answer at all), or nil while it
    /// answers. Only the changes are logged, so that an upstream that is down shows as one
    /// warning, and its return as one notice, however many requests meet it.
    let upstreamSilentSince = Mutex<ContinuousClock.Instant?>(nil)

    /// Bodies larger than this are refused (413); up to `maxBody` they are cached.
    static let largestBody = 256 << 20

    public init(options: ProxyOptions, store: CacheStore, shared: SharedCache? = nil, client: HTTPClient, logger: Logger) {
        self.options = options
        self.store = store
        self.shared = shared
        self.client = client
        self.logger = logger
    }

    /// What an upstream call (or the store, for a caller that waited) answered.
    struct Fetched: Sendable {
        var status: Int
        var headers: [(String, String)]
        var body: [UInt8]
        /// Whether the answer came from the store (another process fetched it first).
        var fromStore = false
        /// A 2xx stream still arriving: its events, live (`body` is then empty).
        var relay: StreamRelay? = nil
    }

    // MARK: Handling a request

    /// The response to `request`; never throws: every failure is an HTTP response.
    public func respond(to request: Request, context: some RequestContext) async -> Response {
        let start = ContinuousClock.now
        let method = request.method.rawValue
        let path = request.uri.path
        let target = path + (request.uri.query.map { "?" + $0 } ?? "")
        var outcome = "bypass"
        let response: Response
        do {
            if method == "GET", path == "/logcache/stats" {
                outcome = "stats"
                response = try statsResponse()
            } else if method == "GET", path == "/metrics" {
                outcome = "metrics"
                let s = store.statistics
                response = Self.response(status: 200, contentType: "text/plain; version=0.0.4",
                                         body: statistics.prometheusText(entries: s.entries, liveBytes: s.liveBytes, diskBytes: s.diskBytes,
                                                                         shared: shared?.sharedStatistics),
                                         marker: "bypass")
            } else {
                (response, outcome) = try await proxy(request, method: method, path: path, target: target)
            }
        } catch let ProxyError.badRequest(message) {
            response = Self.jsonError(.badRequest, message, type: "logcache_bad_request")
        } catch {
            response = Self.jsonError(.internalServerError, "\(error)", type: "logcache_error")
        }
        let tenths = Self.microseconds(ContinuousClock.now - start) / 100
        logger.info("\(method) \(target) \(response.status.code) \(outcome) \(tenths / 10).\(tenths % 10)ms")
        return response
    }

    private func proxy(_ request: Request, method: String, path: String, target: String) async throws -> (Response, String) {
        var request = request
        let body: [UInt8]
        do {
            body = Array(buffer: try await request.collectBody(upTo: Self.largestBody))
        } catch {
            return (Self.jsonError(.contentTooLarge, "the request body is larger than \(Self.largestBody) bytes", type: "logcache_bad_request"), "bypass")
        }
        let controls = try RequestControls.parse(
            cacheControl: request.headers[values: .cacheControl],
            ttl: request.headers[Self.ttlField],
            namespace: request.headers[Self.namespaceField])
        guard options.caches(method: method, path: path), body.count <= options.maxBody, !controls.bypass else {
            statistics.bypass()
            return (try await forward(request, target: target, body: body), "bypass")
        }
        var keyHeaders: [String: String] = [:]
        for name in options.keyHeaders {
            if let field = HTTPField.Name(name), let value = request.headers[field] { keyHeaders[name] = value }
        }
        let namespace = controls.namespace ?? options.namespace
        let key = try keyCache.key(for: KeyCache.Identity(namespace: namespace, method: method, target: target,
                                                          headers: keyHeaders, body: body)) {
            try RequestIdentity.of(method: method, path: target, body: body, headers: keyHeaders).key(namespace: namespace)
        }
        if !controls.refresh, let stored = try lookup(key, maxAge: controls.maxAge) {
            statistics.hit(bytes: stored.body.count, savedMicroseconds: Int(clamping: stored.upstreamMicroseconds))
            return (Self.response(status: stored.status, contentType: stored.contentType, body: stored.body, marker: "hit"), "hit")
        }
        statistics.miss()
        let ttl = (controls.ttl ?? options.ttl).map { Duration.seconds($0) }
        let upstream = upstreamRequest(request, target: target, body: body)
        let (task, leader) = flight(key.storeKey) { [self] landed in
            await fetchAndStore(upstream, key: key, ttl: ttl, refresh: controls.refresh, maxAge: controls.maxAge,
                                landed: landed)
        }
        var fetched = await task.value
        if !leader {
            if (200..<300).contains(fetched.status) {
                statistics.join()
                // The answer was fetched with another client's headers: a joiner gets what a
                // hit would give, not the headers that answered that client (its rate limits,
                // its request id).
                fetched.headers = fetched.headers.filter { $0.0.lowercased() == "content-type" }
            } else {
                // The first caller's failure (its key refused, its rate limit) need not be
                // this caller's: it asks for itself.
                fetched = await fetchAndStore(upstream, key: key, ttl: ttl, refresh: controls.refresh, maxAge: controls.maxAge,
                                              landed: {})
            }
        }
        let marker = fetched.fromStore ? "hit" : "miss"
        if let relay = fetched.relay {
            let fields = Self.fields(fetched.headers, marker: marker)
            return (Response(status: .init(code: fetched.status), headers: fields, body: ResponseBody(asyncSequence: relay.subscribe())), marker)
        }
        return (Self.response(status: fetched.status, headers: fetched.headers, body: fetched.body, marker: marker), marker)
    }

    /// The stored response of `key` when there is one young enough for `maxAge` seconds.
    private func lookup(_ key: MemoKey, maxAge: Int?) throws -> StoredResponse? {
        let found = try shared.map { try $0.value(forKey: key.storeKey) } ?? store.value(forKey: key.storeKey)
        guard let bytes = found, let stored = StoredResponse(decoding: bytes) else { return nil }
        if let maxAge, Int64(Date().timeIntervalSince1970 * 1000) - stored.storedAt > Int64(maxAge) * 1000 { return nil }
        return stored
    }

    /// The flight of `key`: the one in progress, or a new one running `body` that this caller
    /// leads. `body` is given the call that ends the flight (later requests then start
    /// afresh and find the stored answer): at its return, or for a stream once its last event came.
    private func flight(_ key: String, _ body: @escaping @Sendable (_ landed: @escaping @Sendable () -> Void) async -> Fetched)
        -> (Task<Fetched, Never>, Bool) {
        flights.withLock { table in
            if let running = table[key] { return (running, false) }
            let task = Task { [self] in
                await body { _ = self.flights.withLock { $0.removeValue(forKey: key) } }
            }
            table[key] = task
            return (task, true)
        }
    }

    /// Calls the upstream under the key's memo lock (one call across the proxy processes
    /// sharing the store), stores a complete 2xx answer, and returns what came back; a 2xx
    /// stream is returned as soon as its head arrives, its events relayed live while they are
    /// recorded. The call runs on in its own task even if the client that started it goes away.
    private func fetchAndStore(_ upstream: HTTPClientRequest, key: MemoKey, ttl: Duration?, refresh: Bool,
                               maxAge: Int?, landed: @escaping @Sendable () -> Void) async -> Fetched {
        let lock: MemoLock
        do {
            lock = try await MemoLock.acquire(storeDirectory: store.directory, key: key)
        } catch {
            landed()
            return Self.errorFetched(500, "the memo lock of the request could not be taken: \(error)")
        }
        // Another process may have stored the answer while this one waited for the lock.
        if !refresh, let stored = try? lookup(key, maxAge: maxAge) {
            lock.release()
            landed()
            return Fetched(status: stored.status, headers: [("content-type", stored.contentType)], body: stored.body,
                           fromStore: true)
        }
        let start = ContinuousClock.now
        let response: HTTPClientResponse
        do {
            response = try await client.execute(upstream, timeout: .seconds(Int64(options.upstreamTimeout)))
            upstreamAnswered(callStarted: start)
        } catch {
            lock.release()
            landed()
            upstreamDidNotAnswer(error)
            statistics.upstreamError()
            return Self.errorFetched(502, "the upstream \(options.upstream) did not answer: \(error)")
        }
        let contentType = response.headers.first(name: "content-type") ?? "application/octet-stream"
        let status = Int(response.status.code)
        // A stream is what the upstream sent as one, whatever the request asked for: an error
        // in JSON for a streamed request is a JSON answer.
        let isStream = contentType.lowercased().hasPrefix("text/event-stream")
        // A body in an encoding other than identity (an upstream that ignored the request for
        // identity) is passed on with its header but never stored: a hit has no header for it.
        let encoding = response.headers.first(name: "content-encoding")?.lowercased()
        let storable = encoding == nil || encoding == "identity"
        if !(200..<300).contains(status) { statistics.upstreamError() }
        let headers = Self.passedHeaders(response.headers)
        let record = { @Sendable [self] (body: [UInt8]) in
            guard (200..<300).contains(status), storable else { return }
            let stored = StoredResponse(status: status, contentType: contentType, isStream: isStream,
                                        upstreamMicroseconds: Self.microseconds(ContinuousClock.now - start),
                                        storedAt: Int64(Date().timeIntervalSince1970 * 1000), body: body)
            do {
                if let shared {
                    try shared.set(stored.encoded(), forKey: key.storeKey, ttl: ttl)
                } else {
                    try store.set(stored.encoded(), forKey: key.storeKey, ttl: ttl)
                }
            } catch {
                logger.warning("the answer to \(key.storeKey) was not stored: \(error)")
            }
        }
        if isStream, (200..<300).contains(status) {
            let relay = StreamRelay()
            Task { [self] in
                defer {
                    lock.release()
                    landed()
                }
                var body: [UInt8] = []
                do {
                    for try await chunk in response.body {
                        body.append(contentsOf: chunk.readableBytesView)
                        relay.append(chunk)
                        if body.count > Self.largestBody {
                            relay.finish()
                            logger.warning("the stream of \(key.storeKey) passed \(Self.largestBody) bytes; it was not stored")
                            return
                        }
                    }
                } catch {
                    // Cut short by the upstream: relayed as far as it
                    // came, never stored.
                    relay.finish()
                    logger.warning("the stream of \(key.storeKey) ended early: \(error); nothing was stored")
                    return
                }
                record(body)
                relay.finish()
            }
            return Fetched(status: status, headers: headers, body: [], relay: relay)
        }
        defer {
            lock.release()
            landed()
        }
        var body: [UInt8] = []
        var complete = true
        do {
            for try await chunk in response.body {
                body.append(contentsOf: chunk.readableBytesView)
                if body.count > Self.largestBody { complete = false; break }
            }
        } catch {
            // An upstream that aborts the body: the answer is incomplete and not stored.
            complete = false
        }
        guard complete else {
            return Self.errorFetched(502, "the upstream \(options.upstream) ended its answer early; nothing was stored")
        }
        record(body)
        return Fetched(status: status, headers: headers, body: body)
    }

    static func microseconds(_ d: Duration) -> UInt64 {
        let (seconds, attoseconds) = d.components
        guard seconds >= 0 else { return 0 }
        return UInt64(seconds) &* 1_000_000 &+ UInt64(attoseconds / 1_000_000_000_000)
    }

    /// Forwards a request that is not cached, and streams the upstream's answer back.
    private func forward(_ request: Request, target: String, body: [UInt8]) async throws -> Response {
        let upstream = upstreamRequest(request, target: target, body: body)
        let response: HTTPClientResponse
        let start = ContinuousClock.now
        do {
            response = try await client.execute(upstream, timeout: .seconds(Int64(options.upstreamTimeout)))
            upstreamAnswered(callStarted: start)
        } catch {
            upstreamDidNotAnswer(error)
            statistics.upstreamError()
            return Self.jsonError(.badGateway, "the upstream \(options.upstream) did not answer: \(error)", type: "logcache_upstream_error")
        }
        var headers = HTTPFields()
        for (name, value) in Self.passedHeaders(response.headers) {
            if let field = HTTPField.Name(name) { headers.append(HTTPField(name: field, value: value)) }
        }
        headers[Self.markerField] = "bypass"
        let stream = response.body
        return Response(status: .init(code: Int(response.status.code)), headers: headers,
                        body: ResponseBody(asyncSequence: stream))
    }

    /// Notes that an upstream call begun at `callStarted` was answered; logs the upstream's
    /// return after a silence. A call begun before the silence says nothing about now (it may
    /// have had its connection already), so only a later one ends the silence. The message is
    /// logged under the lock, so that a return is never printed before the silence it ends.
    private func upstreamAnswered(callStarted: ContinuousClock.Instant) {
        upstreamSilentSince.withLock { since in
            guard let silentSince = since, callStarted >= silentSince else { return }
            since = nil
            logger.notice("the upstream \(options.upstream) answers again")
        }
    }

    /// Notes that an upstream call got no answer (refused, reset, timed out); logs the first
    /// of a run of them. A call cancelled because its client went away says nothing of the
    /// upstream.
    private func upstreamDidNotAnswer(_ error: any Error) {
        if error is CancellationError || (error as? HTTPClientError) == .cancelled { return }
        upstreamSilentSince.withLock { since in
            guard since == nil else { return }
            since = .now
            logger.warning("the upstream \(options.upstream) does not answer (\(error)): requests it would answer get 502 until it does; stored answers are still served")
        }
    }

    /// The upstream request for a client's request: same method, path, query and body;
    /// headers as sent but for the hop-by-hop ones and the proxy's own, with an identity
    /// encoding asked for, so that a stored body is never compressed without its header.
    private func upstreamRequest(_ request: Request, target: String, body: [UInt8]) -> HTTPClientRequest {
        var upstream = HTTPClientRequest(url: options.upstream + target)
        upstream.method = HTTPMethod(rawValue: request.method.rawValue)
        for field in request.headers {
            let name = field.name.canonicalName
            if Self.hopByHop.contains(name) || name.hasPrefix("x-logcache-") || name == "accept-encoding" { continue }
            upstream.headers.add(name: field.name.rawName, value: field.value)
        }
        upstream.headers.replaceOrAdd(name: "accept-encoding", value: "identity")
        if !body.isEmpty || request.method == .post || request.method == .put || request.method == .patch {
            upstream.body = .bytes(ByteBuffer(bytes: body))
        }
        return upstream
    }

    /// `X-LogCache: hit | miss | bypass`, on every answer.
    static let markerField = HTTPField.Name("X-LogCache")!
    static let ttlField = HTTPField.Name("X-LogCache-TTL")!
    static let namespaceField = HTTPField.Name("X-LogCache-Namespace")!

    static let hopByHop: Set<String> = ["host", "connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
                                        "te", "trailer", "transfer-encoding", "upgrade", "content-length"]

    /// The upstream's headers a client is given: all but the hop-by-hop ones and the length,
    /// which the server sets.
    static func passedHeaders(_ headers: HTTPHeaders) -> [(String, String)] {
        headers.filter { !hopByHop.contains($0.name.lowercased()) }.map { ($0.name, $0.value) }
    }

    // MARK: Responses

    static func response(status: Int, contentType: String, body: [UInt8], marker: String) -> Response {
        response(status: status, headers: [("content-type", contentType)], body: body, marker: marker)
    }

    static func fields(_ headers: [(String, String)], marker: String) -> HTTPFields {
        var fields = HTTPFields()
        for (name, value) in headers {
            if let field = HTTPField.Name(name) { fields.append(HTTPField(name: field, value: value)) }
        }
        fields[Self.markerField] = marker
        return fields
    }

    static func response(status: Int, headers: [(String, String)], body: [UInt8], marker: String) -> Response {
        var fields = fields(headers, marker: marker)
        fields[.contentLength] = String(body.count)
        return Response(status: .init(code: status), headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }

    static func errorFetched(_ status: Int, _ message: String) -> Fetched {
        Fetched(status: status, headers: [("content-type", "application/json")], body: errorBody(message, type: "logcache_upstream_error"))
    }

    static func errorBody(_ message: String, type: String) -> [UInt8] {
        let object = ["error": ["message": message, "type": type]]
        return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])).map { [UInt8]($0) } ?? []
    }

    static func jsonError(_ status: HTTPResponse.Status, _ message: String, type: String) -> Response {
        response(status: status.code, contentType: "application/json", body: errorBody(message, type: type), marker: "bypass")
    }

    private func statsResponse() throws -> Response {
        struct Stats: Encodable {
            var proxy: ProxyStatistics.Snapshot
            var store: Statistics
            var sharedTier: SharedTierStatistics?
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(Stats(proxy: statistics.snapshot, store: store.statistics, sharedTier: shared?.sharedStatistics))
        return Self.response(status: 200, contentType: "application/json", body: [UInt8](data), marker: "bypass")
    }
}
