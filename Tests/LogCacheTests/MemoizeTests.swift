import Dispatch
import Foundation
import Synchronization
import Testing
@testable import LogCache

/// Counts how often a computation ran, from any thread.
final class CallCounter: Sendable {
    private let count = Atomic<Int>(0)
    /// Counts one call and returns the number of calls so far.
    @discardableResult
    func call() -> Int { count.add(1, ordering: .relaxed).newValue }
    var value: Int { count.load(ordering: .relaxed) }
}

struct Answer: Codable, Equatable, Sendable {
    var text: String
    var tokens: Int
}

struct Flaky: Error, CustomStringConvertible {
    var description: String { "the service said no" }
}

@Suite("memoize: hits and misses, versions, TTL, errors")
struct MemoizeTests {
    @Test("A miss computes and stores; the next call and a reopened store return the stored result")
    func hitAndMiss() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let calls = CallCounter()
        let request = ChatRequest(model: "m", messages: [.user("hello")], temperature: 0)
        func answer(_ store: CacheStore) throws -> Answer {
            try store.memoize(namespace: "chat", version: "1", key: request) {
                calls.call()
                Thread.sleep(forTimeInterval: 0.05)
                return Answer(text: "hi", tokens: 2)
            }
        }
        var store = try CacheStore(directory: dir.path)
        #expect(try answer(store) == Answer(text: "hi", tokens: 2))
        #expect(calls.value == 1)
        #expect(try answer(store) == Answer(text: "hi", tokens: 2))
        #expect(calls.value == 1)
        let stats = store.memoStatistics(namespace: "chat")
        #expect(stats.hits == 1 && stats.misses == 1 && stats.failures == 0)
        #expect(stats.computeTime >= .milliseconds(50))
        #expect(stats.timeSaved >= .milliseconds(50) && stats.timeSaved <= stats.computeTime)
        #expect(store.memoStatistics(namespace: "other") == MemoStatistics())

        // Stored under memo/chat/1/<hash>, as JSON with the compute time.
        let key = try MemoKey(namespace: "chat", version: "1", request: request)
        let entry = try #require(try store.value(forKey: key.storeKey))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(entry)) as? [String: Any])
        #expect(object["kind"] as? String == "value" && (object["computeMicroseconds"] as? Int ?? 0) >= 50_000)
        #expect((object["value"] as? [String: Any])?["text"] as? String == "hi")
        try store.close()

        store = try CacheStore(directory: dir.path)
        #expect(try answer(store) == Answer(text: "hi", tokens: 2))
        #expect(calls.value == 1)
        #expect(store.memoStatistics["chat"]?.hits == 1)
        try store.close()
    }

    @Test("Bumping the version misses; each version keeps its own result until removed")
    func versions() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path)
        let calls = CallCounter()
        func run(_ version: String) throws -> String {
            try store.memoize(namespace: "search", version: version, key: ["q": "swift"]) { "v\(version) #\(calls.call())" }
        }
        #expect(try run("1") == "v1 #1")
        #expect(try run("2") == "v2 #2")
        #expect(try run("1") == "v1 #1")
        #expect(try run("2") == "v2 #2")
        try store.set(Array("plain".utf8), forKey: "memo-not-really")
        _ = try store.memoize(namespace: "other", version: "1", key: 1) { "x" }
        #expect(try store.memoEntries(namespace: "search").count == 2)
        #expect(try store.removeMemoized(namespace: "search", version: "1") == 1)
        #expect(try run("2") == "v2 #2")
        #expect(try run("1") == "v1 #3")
        #expect(try store.removeMemoized(namespace: "search") == 2)
        #expect(try store.memoEntries(namespace: "search").isEmpty)
        #expect(try store.value(forKey: "memo-not-really") == Array("plain".utf8))
        #expect(try store.memoEntries(namespace: "other").count == 1)
        #expect(throws: MemoError.self) { try store.removeMemoized(namespace: "a/b") }
        try store.close()
    }

    @Test("A TTL per call, and the store's default TTL, expire results (manual clock)")
    func ttl() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let clock = ManualClock()
        let store = try CacheStore(directory: dir.path, options: Options(defaultTTL: .seconds(100), clock: clock))
        let calls = CallCounter()
        func short() throws -> Int { try store.memoize(namespace: "t", version: "1", key: "short", ttl: .seconds(10)) { calls.call() } }
        func long() throws -> Int { try store.memoize(namespace: "t", version: "1", key: "default") { calls.call() * 100 } }
        #expect(try short() == 1)
        #expect(try long() == 200)
        clock.advance(by: .seconds(9))
        #expect(try short() == 1)
        clock.advance(by: .seconds(2))
        #expect(try short() == 3)
        #expect(try long() == 200)
        clock.advance(by: .seconds(90))
        #expect(try long() == 400)
        #expect(calls.value == 4)
        #expect(throws: CacheError.invalidOption("TTL must be positive")) {
            try store.memoize(namespace: "t", version: "1", key: "zero", ttl: .zero) { 1 }
        }
        try store.close()
    }

    @Test("Errors are not cached by default; on request they are, for their TTL, and only those chosen")
    func errors() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let clock = ManualClock()
        let store = try CacheStore(directory: dir.path, options: Options(clock: clock))
        let calls = CallCounter()
        func failing(_ key: String, _ errors: ErrorCaching = .never) throws -> String {
            try store.memoize(namespace: "e", version: "1", key: key, errors: errors) { () throws -> String in
                calls.call()
                throw Flaky()
            }
        }
        #expect(throws: Flaky.self) { try failing("a") }
        #expect(throws: Flaky.self) { try failing("a") }
        #expect(calls.value == 2)
        #expect(try store.memoEntries(namespace: "e").isEmpty)

        #expect(throws: Flaky.self) { try failing("b", .always(ttl: .seconds(60))) }
        #expect(throws: MemoError.cachedFailure(namespace: "e", message: "the service said no")) { try failing("b") }
        #expect(calls.value == 3)
        clock.advance(by: .seconds(61))
        #expect(throws: Flaky.self) { try failing("b") }
        #expect(calls.value == 4)

        let onlyFlaky = ErrorCaching.when(ttl: .seconds(60)) { $0 is Flaky }
        let notFlaky = ErrorCaching.when(ttl: .seconds(60)) { !($0 is Flaky) }
        #expect(throws: Flaky.self) { try failing("c", notFlaky) }
        #expect(throws: Flaky.self) { try failing("c", onlyFlaky) }
        #expect(throws: MemoError.self) { try failing("c", onlyFlaky) }
        #expect(calls.value == 6)
        let stats = store.memoStatistics(namespace: "e")
        #expect(stats.failures == 6 && stats.misses == 6 && stats.hits == 2)
        #expect(try store.memoNamespaces().first?.failures == 1)
        try store.close()
    }

    @Test("Optional, array and scalar results round-trip, nil included")
    func resultShapes() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path)
        let calls = CallCounter()
        for _ in 0..<2 {
            let none: String? = try store.memoize(namespace: "r", version: "1", key: "none") { calls.call(); return nil }
            #expect(none == nil)
            let list = try store.memoize(namespace: "r", version: "1", key: "list") { calls.call(); return [1.5, -2, 3e10] }
            #expect(list == [1.5, -2, 3e10])
            let flag = try store.memoize(namespace: "r", version: "1", key: "flag") { calls.call(); return true }
            #expect(flag)
        }
        #expect(calls.value == 3)
        try store.close()
    }

    @Test("A stored result that no longer decodes as the asked type is computed again and replaced")
    func changedResultType() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path)
        let calls = CallCounter()
        _ = try store.memoize(namespace: "shape", version: "1", key: "k") { calls.call(); return "text" }
        let answer = try store.memoize(namespace: "shape", version: "1", key: "k") { calls.call(); return Answer(text: "new", tokens: 1) }
        #expect(answer == Answer(text: "new", tokens: 1))
        let again = try store.memoize(namespace: "shape", version: "1", key: "k") { calls.call(); return Answer(text: "newer", tokens: 1) }
        #expect(again == Answer(text: "new", tokens: 1))
        #expect(calls.value == 2)
        try store.close()
    }

    @Test("The async form memoizes like the sync one; namespaces are summarized with their recorded time")
    func asyncForm() async throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path)
        let calls = CallCounter()
        for round in 0..<2 {
            for i in 0..<3 {
                let v = try await store.memoize(namespace: "async", version: "1", key: i) { () async throws -> Int in
                    calls.call()
                    try await Task.sleep(for: .milliseconds(20))
                    return i * 10
                }
                #expect(v == i * 10, "round \(round)")
            }
        }
        #expect(calls.value == 3)
        _ = try await store.memoize(namespace: "async", version: "2", key: 0) { () async throws -> Int in 0 }
        let summary = try #require(try store.memoNamespaces().first { $0.namespace == "async" })
        #expect(summary.entries == 4 && summary.versions == ["1": 3, "2": 1] && summary.failures == 0)
        #expect(summary.computeTime >= .milliseconds(60))
        #expect(summary.storedBytes > 0)
        let stats = store.memoStatistics(namespace: "async")
        #expect(stats.hits == 3 && stats.misses == 4)
        // Each hit saved what its entry's computation took (20 ms or more).
        #expect(stats.timeSaved >= .milliseconds(60) && stats.timeSaved <= stats.computeTime)
        try store.close()
    }

    @Test("A store error is reported, not hidden: a result too large for the store throws")
    func storeErrors() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path, options: Options(compression: .none, capacity: 4096))
        #expect(throws: CacheError.self) {
            try store.memoize(namespace: "big", version: "1", key: 1) { String(repeating: "x", count: 10_000) }
        }
        try store.close()
        #expect(throws: CacheError.closed) { try store.memoize(namespace: "big", version: "1", key: 2) { 1 } }
    }
}
