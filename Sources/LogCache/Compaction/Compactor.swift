import Dispatch
import Synchronization

/// A store's compaction machinery: the lock that lets one pass run at a time, the
/// background queue, and what passes remember between them.
final class Compactor: Sendable {
    let options: CompactionOptions
    /// Held for the whole of a pass. Its value: bytes of tombstones per segment that an
    /// earlier pass kept because they were still needed, which are not dead space.
    let pass = Lock<[UInt32: Int]>([:])
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
