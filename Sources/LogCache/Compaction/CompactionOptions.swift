/// When background compaction runs and what it takes.
///
/// The defaults follow Bitcask's merge policy: a pass starts when one sealed segment is 60%
/// dead or 512 MiB are dead in all, and then rewrites every sealed segment at least 40% dead.
/// Rewriting a segment costs a copy of its live bytes, so waiting for much dead space keeps
/// the copying per byte freed low (see ``CompactionSummary/writeAmplification``).
public struct CompactionOptions: Sendable, Equatable {
    /// Whether the store compacts on its own, on a background thread, when a trigger passes.
    /// ``CacheStore/compact(progress:)`` works either way.
    public var automatic: Bool
    /// A sealed segment whose dead fraction reaches this starts a pass.
    public var triggerDeadFraction: Double
    /// Dead bytes across all sealed segments that start a pass.
    public var triggerDeadBytes: Int
    /// Once a pass starts, every sealed segment at least this dead is rewritten.
    public var selectDeadFraction: Double

    /// Options with the given triggers; the defaults are those of an automatic store.
    public init(
        automatic: Bool = true, triggerDeadFraction: Double = 0.6, triggerDeadBytes: Int = 512 << 20,
        selectDeadFraction: Double = 0.4
    ) {
        self.automatic = automatic
        self.triggerDeadFraction = triggerDeadFraction
        self.triggerDeadBytes = triggerDeadBytes
        self.selectDeadFraction = selectDeadFraction
    }

    /// No background compaction; ``CacheStore/compact(progress:)`` still runs on demand.
    public static let manual = CompactionOptions(automatic: false)

    func validated() throws(CacheError) -> CompactionOptions {
        guard triggerDeadFraction > 0, triggerDeadFraction <= 1 else {
            throw .invalidOption("compaction trigger fraction \(triggerDeadFraction) is outside (0, 1]")
        }
        guard selectDeadFraction > 0, selectDeadFraction <= 1 else {
            throw .invalidOption("compaction selection fraction \(selectDeadFraction) is outside (0, 1]")
        }
        guard triggerDeadBytes > 0 else { throw .invalidOption("compaction trigger bytes must be positive") }
        return self
    }
}
