import Foundation
import Logging
import Metrics
import MetricsTestKit
import Synchronization
import Testing
@testable import LogCache

@Suite("swift-log: what the store tells an operator")
struct StoreLoggingTests {
    static func logger(_ log: CollectedLog) -> Logger {
        var logger = Logger(label: "test", factory: log.handler)
        logger.logLevel = .trace
        return logger
    }

    @Test("A torn tail dropped at open is one warning naming the count; the open itself is debug; nothing per operation")
    func recoveryAtOpen() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path)
        for i in 0..<20 { try store.set(Array("v\(i)".utf8), forKey: "k\(i)") }
        try store.close()
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: dir.file("0000000001.seg")))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data([UInt8](repeating: 0x5a, count: 40)))
        try handle.close()

        let log = CollectedLog()
        let reopened = try CacheStore(directory: dir.path, options: Options(logger: Self.logger(log)))
        defer { try? reopened.close() }
        let torn = reopened.statistics.tornRecordsDropped
        #expect(torn >= 1)
        let warnings = log.lines.withLock { $0.filter { $0.0 == .warning } }
        #expect(warnings.count == 1 && warnings[0].1.contains("recovery"), "\(warnings)")
        #expect(log.lines.withLock { $0.contains { $0.0 == .debug && $0.1 == "opened the store" } })
        let before = log.lines.withLock { $0.count }
        for i in 0..<200 {
            try reopened.set(Array("w".utf8), forKey: "n\(i)")
            _ = try reopened.value(forKey: "n\(i)")
            _ = try reopened.value(forKey: "absent\(i)")
        }
        #expect(log.lines.withLock { $0.count } == before, "sets and gets log nothing")
    }

    @Test("Eviction pressure is one debug summary per minute, not one line per eviction")
    func evictionPressure() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let log = CollectedLog()
        let store = try CacheStore(directory: dir.path, options: Options(maxEntries: 10, logger: Self.logger(log)))
        defer { try? store.close() }
        for i in 0..<100 { try store.set(Array("v".utf8), forKey: "k\(i)") }
        #expect(store.statistics.evictions == 90)
        let lines = log.lines.withLock { $0.filter { $0.1.contains("evicting") } }
        #expect(lines.count == 1 && lines[0].0 == .debug, "\(lines)")
    }

    @Test("A compaction pass is logged at debug with what it did")
    func compactionPass() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let log = CollectedLog()
        let store = try CacheStore(directory: dir.path,
                                   options: Options(segmentSize: 8192, compaction: .manual, logger: Self.logger(log)))
        defer { try? store.close() }
        for round in 0..<4 {
            for i in 0..<100 { try store.set([UInt8](repeating: UInt8(round), count: 200), forKey: "k\(i)") }
        }
        let summary = try store.compact()
        #expect(summary.segmentsRewritten > 0)
        let passes = log.lines.withLock { $0.filter { $0.1 == "compaction pass" } }
        #expect(passes.count == 1 && passes[0].0 == .debug)
    }

    @Test("A wait for the append lock over the threshold is logged at info, once per ten seconds")
    func slowLockWait() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let log = CollectedLog()
        let store = try CacheStore(directory: dir.path, options: Options(logger: Self.logger(log), slowOperationThreshold: .milliseconds(50)))
        defer { try? store.close() }
        try store.set([1], forKey: "first")
        #expect(log.lines.withLock { $0.filter { $0.1.contains("append lock") }.isEmpty })
        for _ in 0..<2 {
            // Another holder of the append mutex (as another process's writer is) keeps it 200 ms.
            let page = try SharedCounters(directory: try Directory.openOrCreate(dir.path))
            let locked = DispatchSemaphore(value: 0)
            let holder = Thread {
                try? page.lockAppend()
                locked.signal()
                Thread.sleep(forTimeInterval: 0.2)
                page.unlockAppend()
            }
            holder.start()
            locked.wait()
            try store.set([2], forKey: "blocked")
        }
        let lines = log.lines.withLock { $0.filter { $0.1.contains("append lock") } }
        #expect(lines.count == 1 && lines[0].0 == .info, "the second slow wait within ten seconds is counted, not logged: \(lines)")
    }
}

@Suite("swift-metrics: counters and gauges with the directory as a dimension")
struct StoreMetricsTests {
    @Test("With a backend, the handle's counts and the store's sizes arrive under its directory; pushed at close")
    func countsArrive() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let metrics = TestMetrics()
        let store = try withMetricsFactory(metrics) {
            try CacheStore(directory: dir.path, options: Options(metricsInterval: .seconds(3600)))
        }
        for i in 0..<30 { try store.set(Array("value".utf8), forKey: "k\(i)") }
        for i in 0..<20 { _ = try store.value(forKey: "k\(i)") }
        for i in 0..<5 { _ = try store.value(forKey: "absent\(i)") }
        _ = try store.removeValue(forKey: "k0")
        try store.close()
        let dimensions = [("directory", dir.path)]
        func total(_ label: String) throws -> Int64 {
            try metrics.expectCounter(label, dimensions).values.reduce(0, +)
        }
        #expect(try total("logcache_writes") == 30)
        #expect(try total("logcache_hits") == 20)
        #expect(try total("logcache_misses") == 5)
        #expect(try total("logcache_deletes") == 1)
        #expect(try metrics.expectGauge("logcache_entries", dimensions).lastValue == 29)
        #expect(try (metrics.expectGauge("logcache_live_bytes", dimensions).lastValue ?? 0) > 0)
    }

    @Test("The timer pushes while the store is open, counters by their growth")
    func timerPushes() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let metrics = TestMetrics()
        let store = try withMetricsFactory(metrics) {
            try CacheStore(directory: dir.path, options: Options(metricsInterval: .milliseconds(50)))
        }
        defer { try? store.close() }
        for i in 0..<10 { try store.set([1], forKey: "k\(i)") }
        let deadline = ContinuousClock.now + .seconds(10)
        var seen: Int64 = 0
        while ContinuousClock.now < deadline {
            seen = (try? metrics.expectCounter("logcache_writes", [("directory", dir.path)]).values.reduce(0, +)) ?? 0
            if seen == 10 { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        #expect(seen == 10)
        for i in 0..<5 { try store.set([1], forKey: "more\(i)") }
        Thread.sleep(forTimeInterval: 0.3)
        #expect(try metrics.expectCounter("logcache_writes", [("directory", dir.path)]).values.reduce(0, +) == 15)
    }

    @Test("Without a backend no metric is made and no timer runs")
    func offWithoutBackend() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path)
        defer { try? store.close() }
        #expect(store.metrics == nil)
    }
}
