#if canImport(Glibc)
import Glibc
#endif

/// Checks a store file by file and record by record, and optionally repairs it (`cachectl fsck`).
///
/// It reads the files themselves rather than opening a `CacheStore`, so it works on stores
/// too damaged to open, and it takes the store's lock, so it never races a process that has
/// the store open.
public enum StoreCheck {
    /// Checks the store in `directory`; with `repair`, also puts right what it can and checks
    /// again (``FsckReport/remainingProblems``).
    ///
    /// - Parameters:
    ///   - directory: the store's directory.
    ///   - repair: whether to put right what can be put right (torn tails cut, damaged files
    ///     rebuilt from the segments) and check again.
    ///   - progress: called now and then with bytes of segments read so far and in all.
    /// - Throws: ``CacheError/locked(path:)`` when the store is open elsewhere,
    ///   ``CacheError/notAStore(path:)`` when the directory holds neither a manifest nor a
    ///   segment, ``CacheError/incompatibleFormat(path:found:supported:)`` for another format
    ///   version, and I/O errors.
    public static func run(
        directory: String, repair: Bool = false, progress: ((_ done: Int, _ total: Int) -> Void)? = nil
    ) throws(CacheError) -> FsckReport {
        var st = stat()
        guard stat(directory, &st) == 0 else { throw .io(operation: "open", path: directory, errno: errno) }
        guard (st.st_mode & S_IFMT) == S_IFDIR else { throw .notADirectory(path: directory) }
        let dir = Directory(path: directory)
        let names = try dir.names()
        guard names.contains(Manifest.fileName) || names.contains(where: { Segment.id(inFileName: $0, suffix: ".seg") != nil })
        else { throw .notAStore(path: directory) }
        let lock = try FileLock(path: dir.path(StoreOpening.lockFileName))
        guard try lock.tryLockExclusive() else { throw .locked(path: directory) }
        defer { lock.unlock() }

        let inspection = try StoreInspection(dir: dir, progress: progress)
        var report = summary(of: inspection)
        guard repair else { return report }
        if !inspection.problems.isEmpty {
            var repairing = StoreRepair(inspection, report: report)
            report = try repairing.run()
            report.remainingProblems = try StoreInspection(dir: dir, progress: nil).problems
        } else {
            report.remainingProblems = []
        }
        return report
    }

    private static func summary(of inspection: StoreInspection) -> FsckReport {
        var report = FsckReport()
        report.problems = inspection.problems
        for f in inspection.segments {
            if f.missing {
                report.missingSegments += 1
                continue
            }
            report.segments += 1
            report.records += f.records.count - f.undecodable.count
            report.corruptRecords += f.damaged.count + f.undecodable.count
            report.tornTailBytes += f.tornBytes
        }
        return report
    }
}
