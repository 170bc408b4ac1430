import LogCache
import Logging

/// How shared writes reach Redis.
public enum SharedWriteMode: Sendable, Equatable {
    /// Each write to the store is sent to Redis before the call returns, within the command
    /// timeout; a write Redis does not take is counted, not thrown.
    case synchronous
    /// Writes are queued and sent by a background thread, so that the caller never waits
    /// on Redis; when `queueLimit` writes are waiting, a new one is dropped and counted
    /// (``SharedTierStatistics/droppedWrites``). The value is in the local store either way.
    case background(queueLimit: Int)
}

/// The settings of the shared tier: where Redis is, what goes there, how long to wait.
///
/// They are settings of one ``SharedCache``, not kept in the store: two handles on one store
/// may share through different servers or not at all.
public struct SharedTierOptions: Sendable {
    /// The server.
    public var url: RedisURL
    /// Put before every key in Redis, so that several caches (or other data) share a
    /// server; values are under `PREFIX` + `v:` + key and leases under `PREFIX` + `l:` + key.
    public var keyPrefix: String = "logcache:"
    /// How long a connection attempt may take before the tier counts Redis as down.
    public var connectTimeout: Duration = .milliseconds(50)
    /// How long one command (or one pipeline) may take.
    public var commandTimeout: Duration = .milliseconds(200)
    /// Whether a write waits for Redis.
    public var writeMode: SharedWriteMode = .synchronous
    /// Values longer than this stay local: a shared tier on a network is for results that
    /// are cheaper to fetch than to recompute, not for bulk data. Default 1 MiB.
    public var maxValueSize: Int = 1 << 20
    /// With a secret, every value carries an HMAC-SHA-256 tag and a value without a valid
    /// one is refused, so that a value written under the prefix by anything that does not
    /// know the secret is never returned. Without one, only accidental damage is caught.
    public var secret: [UInt8]?
    /// How long a memoization lease lives unless its holder renews it (every third of it):
    /// the time other machines wait before they take over from a holder that died.
    public var leaseDuration: Duration = .seconds(10)
    /// Connections kept open for reuse; each thread in a call holds one.
    public var maxIdleConnections: Int = 8
    /// The first pause before reconnecting to a Redis that failed; it doubles on each
    /// failure, up to ``maxReconnectDelay``. While it runs, calls skip Redis at once.
    public var reconnectDelay: Duration = .milliseconds(100)
    /// The longest pause between attempts to reconnect.
    public var maxReconnectDelay: Duration = .seconds(5)
    /// The clock of expiries: it must agree with the local store's (both are the system
    /// clock unless a test sets them).
    public var clock: any CacheClock = SystemClock()
    /// Where the tier says that Redis became unreachable or reachable again (at `info`, once
    /// per change, never per operation); nil, the default, for the local store's logger
    /// (``CacheStore/logger``, from its ``Options/logger``).
    public var logger: Logger?

    /// The settings for the server at `url`, with the defaults above.
    public init(url: RedisURL) {
        self.url = url
    }

    /// The settings for the server at `url` (`redis://[user:password@]host:port/db` or
    /// `unix:///path`), with the defaults above.
    public init(url: String) throws(SharedTierError) {
        self.url = try RedisURL(url)
    }

    func validated() throws(SharedTierError) -> SharedTierOptions {
        guard connectTimeout > .zero, commandTimeout > .zero else { throw .invalidOption("the connect and command timeouts must be positive") }
        guard maxValueSize >= 0 else { throw .invalidOption("maxValueSize must not be negative") }
        guard leaseDuration >= .milliseconds(30), leaseDuration <= .seconds(86_400) else {
            throw .invalidOption("leaseDuration must be 30 ms to a day: long enough to be renewed in time, short enough that a dead holder's lease runs out")
        }
        if case .tcp(_, let port) = url.endpoint, !(1...65535).contains(port) {
            throw .invalidOption("the port \(port) is not between 1 and 65535")
        }
        guard connectTimeout <= .seconds(3600), commandTimeout <= .seconds(3600), maxReconnectDelay <= .seconds(86_400) else {
            throw .invalidOption("timeouts are at most an hour and the reconnection delay at most a day")
        }
        guard maxIdleConnections >= 1 else { throw .invalidOption("maxIdleConnections must be at least 1") }
        guard reconnectDelay > .zero, maxReconnectDelay >= reconnectDelay else {
            throw .invalidOption("reconnectDelay must be positive and at most maxReconnectDelay")
        }
        if case .background(let limit) = writeMode, limit < 1 { throw .invalidOption("the background queue limit must be at least 1") }
        guard !keyPrefix.isEmpty else { throw .invalidOption("the key prefix must not be empty, or the tier would share a namespace with everything else on the server") }
        return self
    }
}
