import Dispatch
import Synchronization

/// A store's compaction machinery: the lock that lets one pass run at a time, the
/// background queue and the counters. Passes remember nothing between them: what a pass
/// decides follows from the files, so every process and every restart decides the same.
final class Compactor: Sendable {
    let options: CompactionOptions
    /// Held for the whole of a pass.
    let pass = Lock<Void>(())
    /// Set by `close()`: a running pass stops at its next record, a queued one does not start.
    let stopping = Atomic<Bool>(false)
    /// A background pass is queued and has not started.
    let scheduled = Atomic<Bool>(false)
    let queue = DispatchQueue(label: "LogCache.compaction", qos: .utility)

    let passes = Atomic<Int>(0)
    let bytesWritten = Atomic<Int>(0)
    let bytesFreed = Atomic<Int>(0)
    let failures = Atomic<Int>(0)

    init(options: CompactionOptions) {
        self.options = options
    }
}
