import Foundation
import Testing
@testable import LogCache

/// Single flight across processes that share one store (the per-key lock it relies on is
/// tested on its own across processes in `MemoLockTests`).
@Suite("Single flight across processes sharing one store")
struct MultiProcessMemoizeTests {
    /// Checks that a second process opens a store another process has open.
    static func requireSharedStore(_ dir: String) throws {
        let holder = try WorkerProcess(["hold", dir])
        defer { holder.kill() }
        guard holder.waitForLine("open") != nil else {
            Issue.record("the worker could not open the store: \(holder.lines)")
            return
        }
        let second = try run(productPath("logcache-worker"), ["open", dir])
        #expect(second.status == 0 && second.text.contains("opened"), "\(second.text) \(second.stderr)")
    }

    /// Lines "computed PID" the computations appended to the log.
    static func computations(_ log: String) throws -> [String] {
        try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    @Test("Four processes memoize one key at once: one computes, the others wait and read its result")
    func computeOnce() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = dir.file("store")
        try Self.requireSharedStore(store)
        let log = dir.file("computations.log")
        #expect(FileManager.default.createFile(atPath: log, contents: nil))
        let workers = try (0..<4).map { _ in try WorkerProcess(["memoize", store, "q1", "1500", log]) }
        defer { workers.forEach { $0.kill() } }
        for w in workers {
            #expect(w.waitForExit(timeout: .seconds(60)) == 0, "\(w.lines)")
            #expect(w.lines.last == "result result of q1")
        }
        #expect(try Self.computations(log).count == 1)
    }

    @Test("The computing process is killed: a waiting process takes over, computes, and the rest get its result")
    func killedComputer() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = dir.file("store")
        try Self.requireSharedStore(store)
        let log = dir.file("computations.log")
        #expect(FileManager.default.createFile(atPath: log, contents: nil))
        let workers = try (0..<3).map { _ in try WorkerProcess(["memoize", store, "q2", "3000", log]) }
        defer { workers.forEach { $0.kill() } }
        // Whoever computes first is killed mid-computation.
        let deadline = ContinuousClock.now + .seconds(30)
        var computing: WorkerProcess?
        while computing == nil && ContinuousClock.now < deadline {
            computing = workers.first { $0.lines.contains("computing") }
            Thread.sleep(forTimeInterval: 0.01)
        }
        let victim = try #require(computing, "no worker started computing")
        victim.kill()
        for w in workers where w !== victim {
            #expect(w.waitForExit(timeout: .seconds(60)) == 0, "\(w.lines)")
            #expect(w.lines.last == "result result of q2")
        }
        // The killed computation and the one that took over; no third.
        #expect(try Self.computations(log).count == 2)
    }
}
