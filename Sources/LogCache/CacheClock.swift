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
    /// The system's clock.
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
        // Saturates: a test may move the clock to the end of time, which must not trap.
        millis.withLock { now in
            let (sum, overflow) = now.addingReportingOverflow(ms)
            now = overflow ? (ms > 0 ? .max : .min) : sum
        }
    }
}

extension Duration {
    /// Whole milliseconds, rounded up so that a positive TTL never becomes zero; a duration
    /// beyond the range of `Int64` milliseconds saturates to `Int64.max` (or `.min`), which
    /// every expiry check then refuses as too far away.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        if overflow { return seconds > 0 ? .max : .min }
        // Both parts have the duration's sign, so the sum overflows only past the end.
        let (ms, over) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000_000_000)
        if over { return seconds > 0 ? .max : .min }
        let rest = attoseconds % 1_000_000_000_000_000
        return rest > 0 && ms < .max ? ms + 1 : ms
    }
}
