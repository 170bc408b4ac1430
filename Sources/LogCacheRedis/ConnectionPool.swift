import Logging
import Synchronization

/// The connections to Redis, and whether Redis is up: one owner for both, so that every
/// caller sees one state, and a Redis that is down costs a caller nothing until the next
/// reconnection is due.
///
/// A caller borrows a connection for one exchange (``exchange(_:)``); hiredis contexts are
/// not thread-safe, so no two callers ever hold the same one. A failed exchange drops its
/// connection and marks Redis down for a pause; when the pause is over, one caller (the
/// probe) tries again while the others still skip Redis, and each failed probe doubles the
/// pause. An idle connection that fails on first use (closed by a restart or by the server's
/// `timeout`) is replaced once by a new connection before Redis counts as down. Each change
/// between up and down is logged once.
final class ConnectionPool: Sendable {
    private struct State {
        var idle: [RedisConnection] = []
        var up = true
        var retryAt: ContinuousClock.Instant?
        var delay: Duration
        var probing = false
        var lastError = ""
    }

    /// How an exchange was let through.
    private enum Admission {
        /// Redis is up.
        case normal
        /// Redis is down and this exchange is the one that tries it again.
        case probe
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
    func exchange<R>(ignoringPause: Bool = false, _ body: (RedisConnection) throws(SharedTierError) -> R) -> R? {
        do {
            return try exchangeOrThrow(ignoringPause: ignoringPause, body)
        } catch {
            return nil
        }
    }

    /// The form of ``exchange(_:)`` that says why it failed. With `ignoringPause`, the
    /// exchange is tried even while Redis counts as down (a lease's renewal, which must not
    /// lapse because another caller's command timed out).
    func exchangeOrThrow<R>(ignoringPause: Bool = false,
                            _ body: (RedisConnection) throws(SharedTierError) -> R) throws(SharedTierError) -> R {
        let now = ContinuousClock.now
        let admitted: (Admission, RedisConnection?)
        do {
            admitted = try state.withLock { s throws(SharedTierError) -> (Admission, RedisConnection?) in
                if s.up || ignoringPause { return (.normal, s.idle.popLast()) }
                guard let retryAt = s.retryAt, now >= retryAt, !s.probing else { throw .unavailable(s.lastError) }
                s.probing = true
                return (.probe, nil)
            }
        } catch {
            counters.add(counters.errors)
            throw error
        }
        let (admission, borrowed) = admitted
        let started = ContinuousClock.now
        var connection = borrowed
        do throws(SharedTierError) {
            let result: R
            var current: RedisConnection
            if let borrowed { current = borrowed } else { current = try connect() }
            connection = current
            do throws(SharedTierError) {
                result = try body(current)
            } catch .unavailable where borrowed != nil {
                // The idle connection may have been closed under it: one more try, new.
                connection = nil
                current = try connect()
                connection = current
                result = try body(current)
            }
            counters.roundTrip(ContinuousClock.now - started)
            succeeded(returning: connection, admission)
            return result
        } catch {
            counters.add(counters.errors)
            if case .reply(let message) = error, !Self.meansConnectionLost(message) {
                // Redis answered: the connection is sound.
                succeeded(returning: connection, admission)
            } else {
                failed(error, admission)
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
        let started = ContinuousClock.now
        do {
            let reply = try exchangeOrThrow(ignoringPause: true) { c throws(SharedTierError) in try c.command([Array("PING".utf8)]) }
            try reply.check()
            return .success(ContinuousClock.now - started)
        } catch {
            return .failure(error)
        }
    }

    private func connect() throws(SharedTierError) -> RedisConnection {
        counters.add(counters.connects)
        return try RedisConnection(url: options.url, connectTimeout: options.connectTimeout, commandTimeout: options.commandTimeout)
    }

    /// Error replies that say the server is not the one to talk to now: a replica after a
    /// failover, or one loading its data set. Its connections are dropped, as for a failure.
    private static func meansConnectionLost(_ message: String) -> Bool {
        message.hasPrefix("READONLY") || message.hasPrefix("LOADING") || message.hasPrefix("MASTERDOWN")
    }

    private func succeeded(returning connection: RedisConnection?, _ admission: Admission) {
        let cameBack = state.withLock { s -> Bool in
            if let connection, s.idle.count < options.maxIdleConnections { s.idle.append(connection) }
            if admission == .probe { s.probing = false }
            // Only a probe brings Redis back: an exchange that began before the failure and
            // ended after it says nothing about the server now.
            guard admission == .probe || s.up else { return false }
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

    private func failed(_ error: SharedTierError, _ admission: Admission) {
        let (wentDown, delay) = state.withLock { s -> (Bool, Duration?) in
            // Every idle connection went to the same server: drop them with this one.
            s.idle.removeAll()
            s.lastError = error.description
            if s.up {
                s.up = false
                s.delay = options.reconnectDelay
                s.retryAt = ContinuousClock.now + s.delay
                return (true, s.delay)
            }
            // Down already: only a failed probe makes the pause longer; the failures of
            // exchanges that were in flight when Redis went away do not.
            guard admission == .probe else { return (false, nil) }
            s.probing = false
            s.delay = min(s.delay * 2, options.maxReconnectDelay)
            s.retryAt = ContinuousClock.now + s.delay
            return (false, s.delay)
        }
        if wentDown {
            counters.reachable.store(false, ordering: .relaxed)
            counters.add(counters.disconnects)
            logger.info("shared tier unreachable; working locally and reconnecting with backoff",
                        metadata: ["redis": "\(options.url)", "error": "\(error)", "retry_in": "\(delay.map { "\($0)" } ?? "")"])
        }
    }
}
