#if canImport(Glibc)
import Glibc
#endif
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
    private let state = Lock(State.running)

    private enum State {
        case running
        case sealed
        /// The segment's fsync failed in the background, and nobody has been told yet.
        case syncFailed(CacheError)
        /// A failed fsync was reported: the next ``finish()`` seals again, fsync first.
        case retry
        /// The segment is on the disk but its index file could not be written (a full disk,
        /// say): the next ``finish()`` writes it again, and throws only if that fails too.
        case synced
    }

    /// One thread for the seals of every store: a seal is an fsync and a scan, and one at a
    /// time keeps the disk's writes in log order.
    private static let queue = DispatchQueue(label: "LogCache.seal", qos: .utility)

    /// The end of the name of a seal's temporary index file: ".seal-PID.tmp", with the pid
    /// asked for at each seal: a child of a fork that opens its own store seals as itself.
    static var temporarySuffix: String { ".seal-\(getpid()).tmp" }

    /// Returns once every seal started so far has ended, failed or not (for tests).
    static func waitForBackgroundSeals() { queue.sync {} }

    /// Whether `name` is the temporary file of a seal running in a live process.
    static func isLiveSealTemporary(_ name: String) -> Bool {
        let parts = name.split(separator: ".")
        guard parts.count >= 3, parts[parts.count - 1] == "tmp", parts[parts.count - 2].hasPrefix("seal-"),
              let pid = Int32(parts[parts.count - 2].dropFirst(5)), pid > 0
        else { return false }
        return kill(pid, 0) == 0 || errno == EPERM
    }

    /// Starts sealing `segment`, `length` bytes long, in the background.
    init(segment: Segment, length: Int, dir: Directory, salt: RecordSalt, index: StoreIndex) {
        self.segment = segment
        self.length = length
        self.dir = dir
        self.salt = salt
        self.index = index
        done.enter()
        Self.queue.async { [self] in
            let ended: State
            do throws(CacheError) {
                try segment.file.sync()
                segment.mapSealed(length: length)
                do throws(CacheError) {
                    try writeIndexFile()
                    ended = .sealed
                } catch {
                    ended = .synced
                }
            } catch {
                ended = .syncFailed(error)
            }
            state.withLock { $0 = ended }
            done.leave()
        }
    }

    /// Waits for the seal, and finishes it on this thread if the background could not.
    ///
    /// A failed fsync is thrown here, once, so that a writer or a flush learns of it (after a
    /// failed fsync the kernel may have dropped the pages, and a second fsync would not say
    /// so); the call after that seals again. A failed index file is not news worth an error
    /// if writing it again works (the disk had filled and has room again): it is written
    /// here, and only that attempt's failure is thrown. The caller keeps the seal pending
    /// while this throws.
    func finish() throws(CacheError) {
        done.wait()
        let now = state.withLock { s -> State in
            let was = s
            if case .syncFailed = s { s = .retry }
            return was
        }
        switch now {
        case .running, .sealed:
            return
        case .syncFailed(let error):
            throw error
        case .retry:
            try segment.file.sync()
            segment.mapSealed(length: length)
            state.withLock { $0 = .synced }
            try writeIndexFile()
        case .synced:
            try writeIndexFile()
        }
        state.withLock { $0 = .sealed }
    }

    /// Writes the segment's index file, once the segment is synced: an index file never
    /// describes bytes that are not on the disk.
    private func writeIndexFile() throws(CacheError) {
        let indexFile = try segment.indexFile(length: length, salt: salt, sealed: true)
        // A temporary name of this process's own: an open elsewhere may write the same index
        // file meanwhile (it found the segment without one), and removes only the temporary
        // files of processes that are gone (``StoreOpening``).
        try dir.writeAtomically(Segment.indexFileName(segment.id), indexFile, temporarySuffix: Self.temporarySuffix)
        index.addDiskBytes(indexFile.count)
    }
}
