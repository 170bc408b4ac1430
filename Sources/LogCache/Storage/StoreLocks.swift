/// The three lock files that let processes share a store. Each is an `flock` lock, which the
/// kernel releases when its holder exits or is killed: a dead process never blocks the others.
///
/// - `LOCK`: every open handle holds it shared; fsck and repair take it exclusively.
/// - `APPEND`: held exclusively for one append (or batch), one manifest change, or loading
///   at open; it is what serializes writers across processes.
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
