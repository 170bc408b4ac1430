import Foundation
import Testing
@testable import LogCache
import LogCacheC

/// Memoization one step at a time (what the C interface and the Python package use),
/// against the closure form's entries.
@Suite("Memo steps: results as JSON text, shared with the closure form")
struct MemoStepsTests {
    struct Answer: Codable, Equatable { var text: String; var score: Double }

    @Test("A result stored as JSON text is a hit for memoize, and memoize's result reads back as JSON")
    func sharedWithClosureForm() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path)
        let key = try MemoKey(namespace: "steps", version: "1", request: ["q": "a"])
        #expect(try store.memoizedResult(for: key) == nil)
        let text = Array(#"{"score":1.0,"text":"from text"}"#.utf8)
        try store.storeMemoizedResult(json: text, for: key, computeTime: .milliseconds(5))
        // The text is kept as written: 1.0 stays 1.0.
        #expect(try store.memoizedResult(for: key) == .value(json: text, computeTime: .milliseconds(5)))
        let hit = try store.memoize(key) { () throws -> Answer in
            Issue.record("computed although a result was stored")
            return Answer(text: "", score: 0)
        }
        #expect(hit == Answer(text: "from text", score: 1))

        let other = try MemoKey(namespace: "steps", version: "1", request: ["q": "b"])
        _ = try store.memoize(other) { Answer(text: "computed", score: 0.5) }
        guard case .value(let json, _)? = try store.memoizedResult(for: other) else {
            Issue.record("memoize's result did not read back")
            return
        }
        #expect(try JSONDecoder().decode(Answer.self, from: Data(json)) == Answer(text: "computed", score: 0.5))
        #expect(store.memoStatistics(namespace: "steps").misses == 2)
        try store.close()
    }

    @Test("Text that is not one JSON value is refused, and nothing is stored")
    func refusesNonJSON() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path)
        let key = try MemoKey(namespace: "steps", version: "1", request: 1)
        for bad in ["", "{", "1 2", "{\"a\":}", "NaN"] {
            #expect(throws: CacheError.self) { try store.storeMemoizedResult(json: Array(bad.utf8), for: key, computeTime: .zero) }
        }
        // JSON in UTF-16 (with its byte-order mark) is JSON to some parsers, not to the entry's readers.
        let utf16: [UInt8] = [0xFF, 0xFE] + Array("{\"a\":1}".utf16).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        #expect(throws: CacheError.self) { try store.storeMemoizedResult(json: utf16, for: key, computeTime: .zero) }
        #expect(try store.value(forKey: key.storeKey) == nil)
        try store.close()
    }

    @Test("A failure the closure form cached is a failure for the steps, and a status with its message in C")
    func cachedFailure() throws {
        struct RateLimited: Error, CustomStringConvertible { var description: String { "rate limited" } }
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let key = try MemoKey(namespace: "steps", version: "1", request: "failing")
        do {
            let store = try CacheStore(directory: dir.path)
            #expect(throws: RateLimited.self) {
                _ = try store.memoize(key, errors: .always(ttl: .seconds(60))) { () throws -> Int in throw RateLimited() }
            }
            guard case .failure(let message, _)? = try store.memoizedResult(for: key) else {
                Issue.record("the cached failure did not read back")
                return
            }
            #expect(message == "rate limited")
            try store.close()
        }
        var handle: OpaquePointer?
        #expect(logcache_open(dir.path, nil, &handle) == 0)
        var lock: OpaquePointer?
        var entry: UnsafeMutablePointer<CChar>?
        var length = 0
        #expect(logcache_memo_begin(handle, key.storeKey, 1, &lock, &entry, &length) == 20)
        #expect(String(cString: logcache_last_error()) == "rate limited")
        #expect(lock == nil && entry == nil)
        logcache_release(handle)
    }
}
