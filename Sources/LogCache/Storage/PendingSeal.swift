import Dispatch

/// A segment the log has moved on from whose seal, its fsync and then its index file, runs on
/// a background thread, so that the writer goes on appending to the next segment meanwhile.
///
/// The segment counts as sealed only once the seal is done: until then it has no index file,
/// so compaction leaves it alone (``Compactor``), and every sync of the log waits for the seal
/// first (``LogState/sync()``). Records of the next segment are therefore never synced before
/// this segment's: what a power cut can tear is the unsynced end of the log, which while a
/// seal is pending spans this segment's tail and the active segment (docs/format.md,
/// "Sealing a segment in the background").
final class PendingSeal: Sendable {
    let segment: Segment
    /// The segment's final length.
    let length: Int
    private let dir: Directory
    private let salt: RecordSalt
    /// Counts the index file's bytes on disk once it is written.
    private let index: StoreIndex
    private let done = DispatchGroup()
    /// nil while the seal runs; then whether it succeeded.
    private let outcome = Lock<CacheError??>(nil)

    /// One thread for the seals of every store: a seal is an fsync and a scan, and one at a
    /// time keeps the disk's writes in log order.
    private static let queue = DispatchQueue(label: "LogCache.seal", qos: .utility)

    /// Starts sealing `segment`, `length` bytes long, in the background.
    init(segment: Segment, length: Int, dir: Directory, salt: RecordSalt, index: StoreIndex) {
        self.segment = segment
        self.length = length
        self.dir = dir
        self.salt = salt
        self.index = index
        done.enter()
        Self.queue.async { [self] in
            let failure: CacheError?
            do throws(CacheError) {
                try seal()
                failure = nil
            } catch {
                failure = error
            }
            outcome.withLock { $0 = .some(failure) }
            done.leave()
        }
    }

    /// Whether the background seal has ended, well or not.
    var hasEnded: Bool { outcome.withLock { $0 != nil } }

    /// Waits for the seal; when it failed in the background, seals again on this thread and
    /// throws if that fails too (the caller keeps the seal pending, and tries again later).
    func finish() throws(CacheError) {
        done.wait()
        guard let failure = outcome.withLock({ $0 }), failure != nil else { return }
        try seal()
        outcome.withLock { $0 = .some(nil) }
    }

    /// Syncs the segment, then writes its index file: an index file never describes bytes
    /// that are not on the disk.
    private func seal() throws(CacheError) {
        try segment.file.sync()
        let indexFile = try segment.indexFile(length: length, salt: salt, sealed: true)
        try dir.writeAtomically(Segment.indexFileName(segment.id), indexFile)
        index.addDiskBytes(indexFile.count)
    }
}
