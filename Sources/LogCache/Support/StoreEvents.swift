import CoreMetrics
import Logging
import Synchronization

/// What the store tells an operator, through the handle's `Logger` (``Options/logger``):
/// what they must know and nothing per operation, at the levels swift-log's guidelines give
/// a library.
///
/// - `warning`, once at open: records recovery dropped (torn at the end of the log) or
///   skipped (damaged).
/// - `info`, for what went wrong but cannot be thrown: a background compaction pass that
///   failed; and for what slows every writer down: an append lock held by another process for
///   longer than ``Options/slowOperationThreshold``, or a catch-up with other processes'
///   writes that took longer. These two are rate-limited to one message per ten seconds each,
///   with the number of further cases in the meantime.
/// - `debug`: the open itself, each compaction pass, and eviction pressure (entries evicted
///   to stay under the capacity, summed over a minute at most).
final class StoreEvents: Sendable {
    let logger: Logger
    let slow: Duration
    private let directory: String

    /// One message per `interval` for a kind of event; the cases in between are counted and
    /// said with the next message.
    private final class Limiter: Sendable {
        private struct State {
            var last: ContinuousClock.Instant?
            var suppressed = 0
            var amount = 0
        }

        private let state = Mutex(State())
        private let interval: Duration

        init(interval: Duration) { self.interval = interval }

        /// Nil when a message went out less than `interval` ago (the case is counted), else
        /// the cases and their amounts since the last message, this one included.
        func pass(amount: Int = 0) -> (cases: Int, amount: Int)? {
            let now = ContinuousClock.now
            return state.withLock { s in
                s.amount += amount
                if let last = s.last, now - last < interval {
                    s.suppressed += 1
                    return nil
                }
                defer { s = State(last: now) }
                return (s.suppressed + 1, s.amount)
            }
        }
    }

    private let lockWaits = Limiter(interval: .seconds(10))
    private let catchUps = Limiter(interval: .seconds(10))
    private let evictions = Limiter(interval: .seconds(60))

    init(logger: Logger, directory: String, slowOperationThreshold: Duration) {
        var logger = logger
        logger[metadataKey: "logcache.store"] = .string(directory)
        self.logger = logger
        self.directory = directory
        slow = slowOperationThreshold
    }

    func opened(entries: Int, segments: Int, seconds: Double, tornRecords: Int, corruptRecords: Int) {
        logger.debug("opened the store", metadata: [
            "entries": "\(entries)", "segments": "\(segments)", "seconds": "\(seconds)",
        ])
        if tornRecords > 0 || corruptRecords > 0 {
            logger.warning("recovery at open: dropped torn records at the end of the log and skipped damaged ones; the entries they held are gone (cachectl fsck says where)",
                           metadata: ["torn_records_dropped": "\(tornRecords)", "damaged_records_skipped": "\(corruptRecords)"])
        }
    }

    func compacted(_ summary: CompactionSummary, onDemand: Bool) {
        logger.debug("compaction pass", metadata: [
            "on_demand": "\(onDemand)", "segments_rewritten": "\(summary.segmentsRewritten)",
            "live_bytes_copied": "\(summary.liveBytesCopied)", "bytes_freed": "\(summary.bytesFreed)",
            "seconds": "\(summary.seconds)",
        ])
    }

    func compactionFailed(_ error: CacheError) {
        logger.info("a background compaction pass failed; the store is unchanged and the next write schedules another",
                    metadata: ["error": "\(error)"])
    }

    func evicted(entries: Int, bytes: Int) {
        guard entries > 0, let (cases, total) = evictions.pass(amount: entries) else { return }
        logger.debug("evicting to stay under the capacity", metadata: [
            "entries_evicted": "\(total)", "writes_that_evicted": "\(cases)", "last_bytes": "\(bytes)",
        ])
    }

    func waitedForAppendLock(_ waited: Duration) {
        guard waited > slow, let (cases, _) = lockWaits.pass() else { return }
        logger.info("waited for the append lock held by another handle or process", metadata: [
            "waited_ms": "\(Self.milliseconds(waited))", "slow_waits": "\(cases)",
        ])
    }

    func caughtUp(_ took: Duration) {
        guard took > slow, let (cases, _) = catchUps.pass() else { return }
        logger.info("catching up with other processes' writes was slow", metadata: [
            "took_ms": "\(Self.milliseconds(took))", "slow_catch_ups": "\(cases)",
        ])
    }

    static func milliseconds(_ d: Duration) -> Int64 {
        let (s, atto) = d.components
        return s.multipliedReportingOverflow(by: 1000).partialValue &+ atto / 1_000_000_000_000_000
    }
}
