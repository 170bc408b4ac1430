import Dispatch
import Foundation
import Synchronization
import Testing
@testable import LogCache

@Suite("Single flight in one process: many threads and tasks, one computation per key")
struct SingleFlightTests {
    @Test("32 threads ask for one missing key: the computation runs once and all get its result")
    func threads() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path)
        let calls = CallCounter()
        let results = Lock<[String]>([])
        let failures = Failures()
        onThreads(32) { _ in
            do {
                let r = try store.memoize(namespace: "sf", version: "1", key: "the question") { () -> String in
                    calls.call()
                    Thread.sleep(forTimeInterval: 0.3)
                    return "the answer"
                }
                results.withLock { $0.append(r) }
            } catch {
                failures.add("\(error)")
            }
        }
        #expect(failures.all.isEmpty, "\(failures.all)")
        #expect(calls.value == 1)
        #expect(results.withLock { $0 } == Array(repeating: "the answer", count: 32))
        let stats = store.memoStatistics(namespace: "sf")
        #expect(stats.misses == 1 && stats.hits + stats.joined == 31)
        #expect(stats.joined > 0, "no caller arrived while the computation ran")
        // The lock file is gone once the computation is done.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.file(MemoLock.directoryName)).isEmpty)
        try store.close()
    }

    @Test("Threads on 8 keys at once: each key computed once, every caller gets its own key's result")
    func manyKeys() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path)
        let perKey = (0..<8).map { _ in CallCounter() }
        let failures = Failures()
        onThreads(64) { i in
            let k = i % 8
            do {
                let r = try store.memoize(namespace: "keys", version: "1", key: ["k": k]) { () -> Int in
                    perKey[k].call()
                    Thread.sleep(forTimeInterval: 0.1)
                    return k * k
                }
                if r != k * k { failures.add("key \(k) got \(r)") }
            } catch {
                failures.add("\(error)")
            }
        }
        #expect(failures.all.isEmpty, "\(failures.all)")
        #expect(perKey.map(\.value) == Array(repeating: 1, count: 8))
        try store.close()
    }

    @Test("100 tasks ask for one key through the async form: one computation, waiting tasks do not block threads")
    func tasks() async throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path)
        let calls = CallCounter()
        let results = try await withThrowingTaskGroup(of: Answer.self) { group in
            for _ in 0..<100 {
                group.addTask {
                    try await store.memoize(namespace: "tasks", version: "1", key: "q") { () async throws -> Answer in
                        calls.call()
                        try await Task.sleep(for: .milliseconds(300))
                        return Answer(text: "once", tokens: 1)
                    }
                }
            }
            var all: [Answer] = []
            for try await r in group { all.append(r) }
            return all
        }
        #expect(calls.value == 1)
        #expect(results == Array(repeating: Answer(text: "once", tokens: 1), count: 100))
        let stats = store.memoStatistics(namespace: "tasks")
        #expect(stats.misses == 1 && stats.hits + stats.joined == 99 && stats.joined > 0)
        try store.close()
    }

    @Test("Sync and async callers of one key share one computation")
    func mixed() async throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path)
        let calls = CallCounter()
        let thread = Thread {
            _ = try? store.memoize(namespace: "mixed", version: "1", key: 1) { () -> Int in
                calls.call()
                Thread.sleep(forTimeInterval: 0.4)
                return 42
            }
        }
        thread.start()
        // Once the thread computes, the task must not compute again: it waits, or (if the
        // thread is already done) reads the stored result.
        while calls.value == 0 { try await Task.sleep(for: .milliseconds(5)) }
        let v = try await store.memoize(namespace: "mixed", version: "1", key: 1) { () async -> Int in calls.call(); return 0 }
        #expect(v == 42)
        #expect(calls.value == 1)
        let stats = store.memoStatistics(namespace: "mixed")
        #expect(stats.misses == 1 && stats.joined + stats.hits == 1)
        try store.close()
    }

    @Test("Waiters get the computing caller's error, which is not cached: the next caller computes again")
    func sharedError() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path)
        let calls = CallCounter()
        let errors = Lock<[String]>([])
        onThreads(8) { _ in
            do {
                _ = try store.memoize(namespace: "err", version: "1", key: 1) { () throws -> Int in
                    calls.call()
                    Thread.sleep(forTimeInterval: 0.3)
                    throw Flaky()
                }
            } catch {
                errors.withLock { $0.append("\(error)") }
            }
        }
        #expect(errors.withLock { $0 } == Array(repeating: "the service said no", count: 8))
        // Callers that came after the failure computed again; all of them failed the same way.
        #expect(calls.value >= 1 && calls.value < 8)
        let before = calls.value
        #expect(try store.memoize(namespace: "err", version: "1", key: 1) { calls.call(); return 7 } == 7)
        #expect(calls.value == before + 1)
        try store.close()
    }

    @Test("When the computing task is cancelled, a waiting task computes in its place")
    func cancelledLeader() async throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path)
        let calls = CallCounter()
        let leader = Task {
            try await store.memoize(namespace: "cancel", version: "1", key: 1) { () async throws -> String in
                calls.call()
                try await Task.sleep(for: .seconds(30))
                return "leader"
            }
        }
        while calls.value == 0 { try await Task.sleep(for: .milliseconds(5)) }
        let waiter = Task {
            try await store.memoize(namespace: "cancel", version: "1", key: 1) { () async throws -> String in
                calls.call()
                return "waiter"
            }
        }
        try await Task.sleep(for: .milliseconds(200))
        leader.cancel()
        await #expect(throws: CancellationError.self) { try await leader.value }
        #expect(try await waiter.value == "waiter")
        #expect(calls.value == 2)
        try store.close()
    }
}

/// Runs `body` on `count` threads of their own, all at once (unlike `concurrentPerform`,
/// which runs as many at a time as there are cores), and waits for them.
func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for i in 0..<count {
        group.enter()
        Thread {
            body(i)
            group.leave()
        }.start()
    }
    group.wait()
}
