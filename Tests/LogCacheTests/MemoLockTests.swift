import Foundation
import Testing
@testable import LogCache

@Suite("The per-key memo lock across real processes")
struct MemoLockTests {
    static func key(_ request: String) throws -> MemoKey {
        try MemoKey(namespace: "lock", version: "1", request: request)
    }

    @Test("A held key lock keeps out other holders, in this process and others; other keys are free")
    func exclusion() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let lock = try MemoLock.acquire(storeDirectory: dir.path, key: Self.key("a"))
        #expect(FileManager.default.fileExists(atPath: lock.path))
        #expect(lock.path == MemoLock.path(storeDirectory: dir.path, key: try Self.key("a")))
        // flock is per open file: a second open in this process is kept out too.
        #expect(try MemoLock.tryAcquire(storeDirectory: dir.path, key: Self.key("a")) == nil)
        let other = try #require(try MemoLock.tryAcquire(storeDirectory: dir.path, key: Self.key("b")))
        other.release()

        let child = try WorkerProcess(["keylock", dir.path, "a", "0"])
        #expect(child.waitForLine("waiting") != nil)
        Thread.sleep(forTimeInterval: 0.3)
        #expect(!child.lines.contains("locked"), "the child took a lock this process holds")
        lock.release()
        #expect(child.waitForLine("released") != nil)
        #expect(child.waitForExit() == 0)
        #expect(!FileManager.default.fileExists(atPath: lock.path), "the lock file outlived its last holder")
        let again = try #require(try MemoLock.tryAcquire(storeDirectory: dir.path, key: Self.key("a")))
        again.release()
        again.release()   // a second release does nothing
    }

    @Test("A holder killed with SIGKILL releases the key: the waiting process takes it over")
    func killedHolder() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let holder = try WorkerProcess(["keylock", dir.path, "job", "forever"])
        defer { holder.kill() }
        #expect(holder.waitForLine("locked") != nil)
        #expect(try MemoLock.tryAcquire(storeDirectory: dir.path, key: Self.key("job")) == nil)

        let waiter = try WorkerProcess(["keylock", dir.path, "job", "100"])
        defer { waiter.kill() }
        #expect(waiter.waitForLine("waiting") != nil)
        Thread.sleep(forTimeInterval: 0.3)
        #expect(!waiter.lines.contains("locked"))
        let killedAt = ContinuousClock.now
        holder.kill()
        #expect(waiter.waitForLine("locked", timeout: .seconds(5)) != nil)
        #expect(ContinuousClock.now - killedAt < .seconds(5))
        #expect(waiter.waitForExit() == 0)
        // The killed holder left its file behind; the waiter that took over removed it.
        #expect(!FileManager.default.fileExists(atPath: MemoLock.path(storeDirectory: dir.path, key: try Self.key("job"))))
    }

    @Test("Four processes add to one counter under the lock 150 times each: no update is lost")
    func mutualExclusion() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let workers = try (0..<4).map { _ in try WorkerProcess(["count", dir.path, "150"]) }
        for w in workers { #expect(w.waitForExit(timeout: .seconds(120)) == 0, "\(w.lines)") }
        let text = try String(contentsOfFile: dir.file("count"), encoding: .utf8)
        #expect(text == "600")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.file(MemoLock.directoryName)).isEmpty)
    }

    @Test("The async acquire waits without blocking and gets the lock once it is released")
    func asyncAcquire() async throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let held = try await MemoLock.acquire(storeDirectory: dir.path, key: Self.key("x"))
        let waiting = Task { try await MemoLock.acquire(storeDirectory: dir.path, key: Self.key("x")) }
        try await Task.sleep(for: .milliseconds(100))
        held.release()
        let got = try await waiting.value
        #expect(try MemoLock.tryAcquire(storeDirectory: dir.path, key: Self.key("x")) == nil)
        got.release()

        let blocker = try await MemoLock.acquire(storeDirectory: dir.path, key: Self.key("y"))
        let cancelled = Task { try await MemoLock.acquire(storeDirectory: dir.path, key: Self.key("y")) }
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        blocker.release()
    }

    @Test("A memo-locks that is a symbolic link (or not a directory) is refused; nothing is created where it points")
    func linkedLockDirectory() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let storePath = dir.file("store")
        let store = try CacheStore(directory: storePath)
        let outside = dir.file("outside")
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: false)
        let lockDirectory = storePath + "/" + MemoLock.directoryName
        try FileManager.default.createSymbolicLink(atPath: lockDirectory, withDestinationPath: outside)
        let refused: (any Error) -> Bool = { error in
            guard case .corruptStore(let path, let detail) = error as? CacheError else { return false }
            return path == lockDirectory && detail.contains("symbolic link")
        }
        #expect(performing: { try MemoLock.acquire(storeDirectory: storePath, key: Self.key("a")) }, throws: refused)
        #expect(performing: { try MemoLock.tryAcquire(storeDirectory: storePath, key: Self.key("a")) }, throws: refused)
        #expect(performing: {
            try store.memoize(namespace: "lock", version: "1", key: "a") { "computed" }
        }, throws: refused)
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside).isEmpty)

        // A plain file in its place is refused the same way.
        try FileManager.default.removeItem(atPath: lockDirectory)
        try Data().write(to: URL(fileURLWithPath: lockDirectory))
        #expect(performing: { try MemoLock.tryAcquire(storeDirectory: storePath, key: Self.key("a")) }, throws: { error in
            guard case .corruptStore(let path, _) = error as? CacheError else { return false }
            return path == lockDirectory
        })
        try store.close()
    }
}
