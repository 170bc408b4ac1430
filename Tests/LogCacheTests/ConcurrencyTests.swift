import Dispatch
import Synchronization
import Testing
@testable import LogCache

@Suite("Many threads on one store")
struct ConcurrencyTests {
    /// A value that names its key and a version, so a reader can tell whether what it got
    /// was written for that key.
    private static func value(key: Int, version: UInt64) -> [UInt8] {
        let head = Array("\(key):\(version):".utf8)
        return head + [UInt8](repeating: UInt8(truncatingIfNeeded: version), count: Int(version % 500))
    }

    @Test("Readers, writers and removers at once: no errors, no torn or foreign values, rollovers included")
    func mixedThreads() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path, options: Options(compression: .lz4, segmentSize: 64 << 10))
        let keys = 200
        let failures = Failures()
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            var g = SeededGenerator(seed: UInt64(thread))
            for _ in 0..<3000 {
                let key = Int(g.next() % UInt64(keys))
                do {
                    switch g.next() % 10 {
                    case 0..<3:
                        try store.set(Self.value(key: key, version: g.next() % 10_000), forKey: "k\(key)")
                    case 3:
                        try store.removeValue(forKey: "k\(key)")
                    default:
                        if let v = try store.value(forKey: "k\(key)"), !v.starts(with: Array("\(key):".utf8)) {
                            failures.add("k\(key) returned a value of another key")
                        }
                    }
                } catch {
                    failures.add("\(error)")
                }
            }
        }
        #expect(failures.all.isEmpty, "\(failures.all.prefix(5))")
        #expect(store.statistics.segments > 1)
        // The index and the log agree: what this handle sees is what a fresh open sees.
        var seen: [String: [UInt8]?] = [:]
        for k in 0..<keys { seen["k\(k)"] = try store.value(forKey: "k\(k)") }
        try store.close()
        let reopened = try CacheStore(directory: dir.path)
        for k in 0..<keys { #expect(try reopened.value(forKey: "k\(k)") == seen["k\(k)"]!) }
        try reopened.close()
    }
}

/// Failures collected from many threads.
final class Failures: Sendable {
    private let list = Lock<[String]>([])
    func add(_ s: String) { list.withLock { $0.append(s) } }
    var all: [String] { list.withLock { $0 } }
}
