import Foundation
import Testing
@testable import LogCache

#if canImport(Glibc)
import Glibc
#endif

/// Writes that fail for want of space: EFBIG under a file-size limit (RLIMIT_FSIZE) and
/// ENOSPC on a small tmpfs. Each failed write must throw a CacheError naming the file and the
/// system's reason, leave the store consistent (acknowledged keys read back, failed ones do
/// not, fsck finds nothing), and writes must succeed again once there is space.
///
/// The work runs in a child process (Tests/Worker): the limit and the mount belong to it alone.
@Suite("Full disk: EFBIG and ENOSPC give a clear error, a consistent store, and writes resume")
struct DiskFullTests {
    let worker = productPath("logcache-worker")

    /// Lines of a worker's output, and the acknowledged and failed key numbers in them.
    struct Outcome {
        var lines: [String]
        var acked: [Int] { lines.compactMap { $0.hasPrefix("acked ") ? Int($0.dropFirst(6)) : nil } }
        var failures: [String] { lines.filter { $0.hasPrefix("failed ") } }
        var failed: [Int] { failures.compactMap { Int($0.dropFirst(7).prefix { $0 != ":" }) } }
    }

    private func check(_ result: ProcessResult, reason: String) -> Outcome {
        let outcome = Outcome(lines: result.text.split(separator: "\n").map(String.init))
        #expect(result.status == 0, "worker: \(result.text.suffix(600)) \(result.stderr)")
        #expect(outcome.acked.count > 20, "writes before the disk filled and after it emptied")
        #expect(outcome.failed.count == 3)
        for line in outcome.failures {
            // "failed 12: write /…/0000000001.seg: File too large (errno 27)"
            #expect(line.contains(reason) && line.contains("/store"), "unclear error: \(line)")
        }
        #expect(outcome.lines.contains("space back"))
        #expect(!outcome.lines.contains { $0.hasPrefix("wrong") }, "\(outcome.lines.filter { $0.hasPrefix("wrong") })")
        #expect(outcome.lines.contains("verified \(outcome.acked.count) acked, 3 failed absent"))
        #expect(outcome.lines.contains("fsck clean"))
        // Writes resumed: the last acknowledged key comes after the last failed one.
        #expect((outcome.acked.last ?? 0) > (outcome.failed.last ?? .max))
        return outcome
    }

    @Test("A file-size limit: EFBIG on the segment, the partial record cut back, writes resume when lifted",
          arguments: [UInt64(1), 2])
    func fileSizeLimit(seed: UInt64) throws {
        let dir = TemporaryDirectory("efbig\(seed)")
        defer { dir.cleanup() }
        let store = dir.file("store")
        let limit = 40_000
        let result = try run(worker, ["fill-limit", store, String(limit), String(seed)])
        let outcome = check(result, reason: "File too large")
        // Checked again from this process: every acknowledged value, no failed one.
        let reopened = try CacheStore(directory: store)
        for i in outcome.acked { #expect(try reopened.value(forKey: "key-\(i)") == workerValue(seed: seed, index: i), "key-\(i)") }
        for i in outcome.failed { #expect(try reopened.value(forKey: "key-\(i)") == nil, "key-\(i)") }
        try reopened.close()
    }

    @Test("A file-size limit under a large batch: the batch stops at a chunk, whole chunks before it are kept, none after it")
    func fileSizeLimitUnderBatches() throws {
        let dir = TemporaryDirectory("efbig-batch")
        defer { dir.cleanup() }
        let store = dir.file("store")
        let result = try run(worker, ["fill-batches", store, String(1_150_000), "3"])
        let lines = result.text.split(separator: "\n").map(String.init)
        #expect(result.status == 0, "worker: \(result.text.suffix(600)) \(result.stderr)")
        #expect(!lines.contains { $0.hasPrefix("wrong") }, "\(lines.filter { $0.hasPrefix("wrong") })")
        let failure = try #require(lines.first { $0.hasPrefix("failed ") })
        #expect(failure.contains("File too large") && failure.contains("/store"), "unclear error: \(failure)")
        let prefix = try #require(lines.compactMap { line -> Int? in
            guard line.hasPrefix("prefix ") else { return nil }
            return Int(line.dropFirst(7).prefix { $0 != " " })
        }.first)
        // The limit strikes inside the seventh batch (its values are the same on every run).
        #expect(prefix > 0 && prefix < 1000 && prefix % EncodingPipeline.chunkRecords == 0,
                "\(prefix) entries of the failed batch kept")
        #expect(lines.contains("space back"))
        #expect(lines.contains { $0.hasPrefix("verified ") })
        #expect(lines.contains { $0.hasPrefix("failed 0:") } == false, "no batch went in before the limit")
        #expect(lines.contains("fsck clean"))
    }

    /// Whether this process may mount a tmpfs in a private mount namespace (root, or a
    /// user namespace that allows it).
    static let canMountTmpfs: Bool = {
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        probe.arguments = ["-m", "sh", "-c", "d=$(mktemp -d) && mount -t tmpfs -o size=64k probe \"$d\" && umount \"$d\"; s=$?; rmdir \"$d\"; exit $s"]
        probe.standardOutput = FileHandle.nullDevice
        probe.standardError = FileHandle.nullDevice
        guard (try? probe.run()) != nil else { return false }
        probe.waitUntilExit()
        return probe.terminationStatus == 0
    }()

    @Test("A full tmpfs: ENOSPC wherever it strikes (record, index file, new segment, manifest); removing a file gives writes back",
          .enabled(if: canMountTmpfs, "needs unshare and mount (root) for a private tmpfs"),
          arguments: [UInt64(1), 2, 3, 4, 5])
    func fullTmpfs(seed: UInt64) throws {
        let dir = TemporaryDirectory("enospc\(seed)")
        defer { dir.cleanup() }
        // The tmpfs lives in the child's own mount namespace and goes away with it.
        let script = "mount -t tmpfs -o size=1m,mode=0700 logcache-enospc \"$1\" && exec \"$2\" fill-disk \"$1\" \"$3\""
        let result = try run("/usr/bin/unshare", ["-m", "sh", "-c", script, "sh", dir.path, worker, String(seed)])
        _ = check(result, reason: "No space left on device")
    }
}
