/// The three lock files that let processes share a store, beside the append mutex in
/// `SHARED`. Each is an `flock` lock, which the kernel releases when its holder exits or is
/// killed: a dead process never blocks the others.
///
/// - `LOCK`: every open handle holds it shared; fsck and repair take it exclusively.
/// - `APPEND`: held exclusively by an open while it sets up `SHARED` and loads (opens take
///   turns). Appends serialize on the append mutex in `SHARED` instead (``SharedCounters``);
///   builds of format version 2 took this lock to append, and refuse a version-3 store.
/// - `COMPACT`: held for a whole compaction pass, so one process compacts at a time.
final class StoreLocks: Sendable {
    static let appendFileName = "APPEND"
    static let compactFileName = "COMPACT"

    let open: FileLock
    let append: FileLock
    let compact: FileLock

    init(_ dir: Directory) throws(CacheError) {
        open = try FileLock(path: dir.path(StoreOpening.lockFileName))
        append = try FileLock(path: dir.path(Self.appendFileName))
        compact = try FileLock(path: dir.path(Self.compactFileName))
    }
}
