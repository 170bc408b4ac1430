import Logging
import Synchronization

/// The connections to Redis, and whether Redis is up: one owner for both, so that every
/// caller sees one state, and a Redis that is down costs a caller nothing until the next
/// reconnection is due.
///
/// A caller borrows a connection for one exchange (``exchange(_:)``); hiredis contexts are
/// not thread-safe, so no two callers ever hold the same one. A failed exchange drops its
/// connection and marks Redis down for a pause that doubles on each failure; the first
/// exchange after the pause tries again. Each change between up and down is logged once.
final class ConnectionPool: Sendable {
    private struct State {
        var idle: [RedisConnection] = []
        var up = true
        var retryAt: ContinuousClock.Instant?
        var delay: Duration
        var lastError = ""
    }

    private let options: SharedTierOptions
    private let counters: SharedTierCounters
    private let state: Mutex<State>
    private let logger: Logger

    init(options: SharedTierOptions, counters: SharedTierCounters, logger: Logger) {
        self.options = options
        self.counters = counters
        self.logger = logger
        state = Mutex(State(delay: options.reconnectDelay))
    }

    /// Runs `body` on a connection. Returns nil, having counted an error, when Redis is down
    /// or the exchange failed; an error reply is returned to `body` as a reply, and counted
    /// when `body` throws ``SharedTierError/reply(_:)``.
    func exchange<R>(_ body: (RedisConnection) throws(SharedTierError) -> R) -> R? {
        do {
            return try exchangeOrThrow(body)
        } catch {
            return nil
        }
    }

    /// The form of ``exchange(_:)`` that says why it failed.
    func exchangeOrThrow<R>(_ body: (RedisConnection) throws(SharedTierError) -> R) throws(SharedTierError) -> R {
        let now = ContinuousClock.now
        let borrowed: RedisConnection?
        do {
            borrowed = try state.withLock { s throws(SharedTierError) -> RedisConnection? in
                if let retryAt = s.retryAt, now < retryAt { throw .unavailable(s.lastError) }
                return s.idle.popLast()
            }
        } catch {
            counters.add(counters.errors)
            throw error
        }
        let started = ContinuousClock.now
        do throws(SharedTierError) {
            let connection: RedisConnection
            if let borrowed {
                connection = borrowed
            } else {
                connection = try RedisConnection(url: options.url, connectTimeout: options.connectTimeout,
                                                 commandTimeout: options.commandTimeout)
            }
            let result = try body(connection)
            counters.roundTrip(ContinuousClock.now - started)
            succeeded(returning: connection)
            return result
        } catch {
            counters.add(counters.errors)
            if case .reply = error {
                // Redis answered: the connection is sound.
                if let borrowed { succeeded(returning: borrowed) }
            } else {
                failed(error)
            }
            throw error
        }
    }

    /// Drops every idle connection (the handle is closing).
    func close() {
        let dropped = state.withLock { s in
            defer { s.idle.removeAll() }
            return s.idle
        }
        _ = dropped
    }

    /// Whether Redis answers a PING now, trying even while a reconnection pause runs.
    func ping() -> Result<Duration, SharedTierError> {
        state.withLock { $0.retryAt = nil }
        let started = ContinuousClock.now
        do {
            let reply = try exchangeOrThrow { c throws(SharedTierError) in try c.command([Array("PING".utf8)]) }
            try reply.check()
            return .success(ContinuousClock.now - started)
        } catch {
            return .failure(error)
        }
    }

    private func succeeded(returning connection: RedisConnection) {
        let cameBack = state.withLock { s -> Bool in
            if s.idle.count < options.maxIdleConnections { s.idle.append(connection) }
            let wasDown = !s.up
            s.up = true
            s.retryAt = nil
            s.delay = options.reconnectDelay
            return wasDown
        }
        if cameBack {
            counters.reachable.store(true, ordering: .relaxed)
            logger.info("shared tier reachable again", metadata: ["redis": "\(options.url)"])
        }
    }

    private func failed(_ error: SharedTierError) {
        let (wentDown, delay) = state.withLock { s -> (Bool, Duration) in
            // Every idle connection went to the same server: drop them with this one.
            s.idle.removeAll()
            let wasUp = s.up
            s.up = false
            s.lastError = error.description
            let delay = s.delay
            s.retryAt = ContinuousClock.now + delay
            s.delay = min(s.delay * 2, options.maxReconnectDelay)
            return (wasUp, delay)
        }
        if wentDown {
            counters.reachable.store(false, ordering: .relaxed)
            counters.add(counters.disconnects)
            logger.info("shared tier unreachable; working locally and reconnecting with backoff",
                                   metadata: ["redis": "\(options.url)", "error": "\(error)", "retry_in": "\(delay)"])
        }
    }
}
