import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Where a store reads the time for creation stamps and expiry; inject one to test TTLs
/// without sleeping.
public protocol CacheClock: Sendable {
    /// Milliseconds since 1970-01-01 UTC.
    func now() -> Int64
}

/// The system's real-time clock.
public struct SystemClock: CacheClock {
    public init() {}

    public func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}

/// A clock that moves only when told to.
public final class ManualClock: CacheClock {
    private let millis: Lock<Int64>

    /// A clock showing `milliseconds` since 1970.
    public init(milliseconds: Int64 = 1_700_000_000_000) {
        millis = Lock(milliseconds)
    }

    public func now() -> Int64 { millis.withLock { $0 } }

    /// Moves the clock forward by `duration`.
    public func advance(by duration: Duration) {
        let ms = duration.milliseconds
        millis.withLock { $0 += ms }
    }
}

extension Duration {
    /// Whole milliseconds, rounded up so that a positive TTL never becomes zero.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        let ms = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        let rest = attoseconds % 1_000_000_000_000_000
        return rest > 0 ? ms + 1 : ms
    }
}
