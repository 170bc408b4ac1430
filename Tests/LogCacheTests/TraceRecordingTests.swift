import Foundation
import Testing
@testable import LogCache
import LogCacheSimulation

@Suite("A store that records its own trace")
struct TraceRecordingTests {
    private func fileSizes(_ dir: String) throws -> [Int] {
        try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".lctrace") }.map { name in
            (try FileManager.default.attributesOfItem(atPath: dir + "/" + name)[.size] as? Int) ?? 0
        }
    }

    @Test("Gets, sets and deletes of one handle come back in order, with hits' and sets' stored sizes; misses take the next set's size in the replay")
    func oneHandle() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path, options: Options(compression: .none, traceRecording: TraceRecording(chunkRequests: 3)))
        _ = try store.value(forKey: "a")                    // miss
        try store.set(Array(repeating: 7, count: 100), forKey: "a")
        _ = try store.value(forKey: "a")                    // hit
        #expect(try store.removeValue(forKey: "a"))
        _ = try store.values(forKeys: ["a", "b"])           // two misses
        try store.set([1, 2, 3], forKey: "b")
        try store.close()
        let trace = try RecordedTrace.load(directory: dir.file("traces"))
        #expect(trace.files.count == 1 && trace.filesEndingEarly.isEmpty)
        let ha = KeyHash.hash(Array("a".utf8)), hb = KeyHash.hash(Array("b".utf8))
        #expect(trace.requests.map(\.operation) == [.miss, .set, .hit, .delete, .miss, .miss, .set])
        #expect(trace.requests.map(\.keyHash) == [ha, ha, ha, ha, ha, hb, hb])
        let setSize = trace.requests[1].size
        #expect(setSize > 100 && trace.requests[2].size == setSize, "stored sizes: the record's length")
        #expect(zip(trace.requests, trace.requests.dropFirst()).allSatisfy { $0.time <= $1.time })
        // The replay: deletes left out, misses sized by the key's next set (or 0).
        var reader = try RecordedTraceReader(directory: dir.file("traces"))
        var replay: [TraceRequest] = []
        while let r = try reader.next() { replay.append(r) }
        #expect(replay.map(\.id) == [ha, ha, ha, ha, hb, hb])
        #expect(replay.map(\.size) == [Int(setSize), Int(setSize), Int(setSize), 0, Int(trace.requests[6].size), Int(trace.requests[6].size)])
        #expect(replay.map(\.nextAccess) == [2, 3, 4, -1, 6, -1])
        // The store checks clean with its traces/ directory, and opens again.
        #expect(try StoreCheck.run(directory: dir.path, repair: false).ok)
        try CacheStore(directory: dir.path).close()
    }

    @Test("Two processes recording through LOGCACHE_TRACE: one file each, merged in time order, every set there")
    func twoProcesses() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        try CacheStore(directory: dir.path, options: Options(segmentSize: 64 << 10)).close()
        let workers = try (0..<2).map {
            try WorkerProcess(["mixed", dir.path, "\($0 + 1)", "1500", "100"], environment: [TraceRecording.environmentVariable: "1"])
        }
        for w in workers { #expect(w.waitForExit() == 0) }
        let sets = workers.map { $0.lines.filter { $0.hasPrefix("w ") && !$0.contains(" - ") }.count }
        let trace = try RecordedTrace.load(directory: dir.file("traces"))
        #expect(trace.files.count == 2)
        #expect(trace.requests.filter { $0.operation == .set }.count == sets.reduce(0, +))
        #expect(trace.requests.filter { $0.operation == .hit || $0.operation == .miss }.count >= 1500 * 2 / 2)
        #expect(zip(trace.requests, trace.requests.dropFirst()).allSatisfy { $0.time <= $1.time })
        // Replayed with every policy bench has, Belady included (the merge gives next accesses).
        let r = try CacheCtlBinary.run(["bench", "--trace-dir", dir.file("traces"), "--policy", "lru,s3-fifo,belady",
                                        "--sizes", "auto", "--json", "--save-trace", dir.file("merged.bin")])
        #expect(r.status == 0, "\(r.err)")
        let rows = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [[String: Any]] ?? []
        let replayed = trace.requests.filter { $0.operation != .delete }.count
        #expect(rows.count == 36 && rows.allSatisfy { $0["requests"] as? Int == replayed })
        // Counting objects, Belady is the bound (with sizes it need not be: it ignores them).
        let counted = try CacheCtlBinary.run(["bench", "--trace-dir", dir.file("traces"), "--policy", "lru,belady",
                                              "--count-based", "--sizes", "auto", "--json"])
        let countedRows = try JSONSerialization.jsonObject(with: Data(counted.out.utf8)) as? [[String: Any]] ?? []
        let belady = countedRows.filter { $0["policy"] as? String == "belady" }.compactMap { $0["misses"] as? Int }
        let lru = countedRows.filter { $0["policy"] as? String == "lru" }.compactMap { $0["misses"] as? Int }
        #expect(belady.count == lru.count && belady.count >= 5 && zip(belady, lru).allSatisfy { $0 <= $1 }, "Belady is the bound: \(belady) \(lru)")
        // The merged file is libCacheSim's format, and replays to the same counts.
        #expect(fileSize(dir.file("merged.bin")) == replayed * 24)
        let again = try CacheCtlBinary.run(["bench", "--trace", dir.file("merged.bin"), "--format", "oracleGeneral",
                                            "--policy", "lru,s3-fifo,belady", "--sizes", "auto", "--json"])
        let againRows = try JSONSerialization.jsonObject(with: Data(again.out.utf8)) as? [[String: Any]] ?? []
        #expect(againRows.compactMap { $0["misses"] as? Int } == rows.compactMap { $0["misses"] as? Int })
    }

    @Test("A file cut inside a chunk, as a killed writer leaves it, is read up to its last whole chunk")
    func cutFile() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path, options: Options(traceRecording: TraceRecording(chunkRequests: 10)))
        for i in 0..<35 { try store.set([UInt8(i)], forKey: "k\(i)") }
        try store.close()
        let traces = dir.file("traces")
        guard let name = try FileManager.default.contentsOfDirectory(atPath: traces).first else {
            Issue.record("no trace file")
            return
        }
        let path = traces + "/" + name
        let whole = try RecordedTrace.load(directory: traces)
        #expect(whole.requests.count == 35 && whole.filesEndingEarly.isEmpty)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        // Cut in the middle of the last chunk (the last 5 requests), then in the third.
        try bytes.prefix(bytes.count - 9).write(to: URL(fileURLWithPath: path))
        let cut = try RecordedTrace.load(directory: traces)
        #expect(cut.requests.count == 30 && cut.filesEndingEarly == [path])
        #expect(cut.requests == Array(whole.requests.prefix(30)))
        var damaged = [UInt8](bytes)
        damaged[damaged.count / 2] ^= 0xFF
        try Data(damaged).write(to: URL(fileURLWithPath: path))
        let flipped = try RecordedTrace.load(directory: traces)
        #expect(flipped.requests.count < 35 && flipped.requests == Array(whole.requests.prefix(flipped.requests.count)))
        // Not a trace at all: refused by name.
        try Data("not a trace".utf8).write(to: URL(fileURLWithPath: traces + "/x.lctrace"))
        #expect(throws: CacheError.self) { _ = try RecordedTrace.load(directory: traces) }
    }

    @Test("Recording is bounded: files rotate, and the oldest go once all pass the limit")
    func bounded() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let limit = 40_000
        let store = try CacheStore(directory: dir.path, options: Options(
            traceRecording: TraceRecording(maxBytes: limit, fileBytes: 8_000, chunkRequests: 64)))
        var g = SeededGenerator(seed: 4)
        for i in 0..<20_000 {
            if i % 3 == 0 { try store.set([UInt8(i & 0xFF)], forKey: "k\(g.next() % 5000)") } else { _ = try store.value(forKey: "k\(g.next() % 5000)") }
        }
        try store.close()
        let sizes = try fileSizes(dir.file("traces"))
        #expect(sizes.count > 2, "rotated into several files")
        // Trimming runs when a file is finished: the files kept fit the limit, with at most the
        // current file and the one chunk that finished it on top.
        #expect(sizes.reduce(0, +) <= limit + 8_000 + 2_000, "\(sizes)")
        let trace = try RecordedTrace.load(directory: dir.file("traces"))
        #expect(trace.requests.count < 20_000 && trace.requests.count > 1_000)
    }

    @Test("Bad settings and a bad LOGCACHE_TRACE are refused with a message; a recording that cannot write stops and the store goes on")
    func refusals() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        for bad in [TraceRecording(maxBytes: 0), TraceRecording(maxBytes: 10, fileBytes: 20), TraceRecording(chunkRequests: 0),
                    TraceRecording(chunkRequests: 100_000)] {
            #expect(throws: CacheError.self) { _ = try CacheStore(directory: dir.file("s"), options: Options(traceRecording: bad)) }
        }
        // traces/ is a file, not a directory: recording cannot start, the store works.
        try CacheStore(directory: dir.file("t")).close()
        try Data().write(to: URL(fileURLWithPath: dir.file("t/traces")))
        let store = try CacheStore(directory: dir.file("t"), options: Options(traceRecording: TraceRecording(chunkRequests: 1)))
        try store.set([1], forKey: "k")
        #expect(try store.value(forKey: "k") == [1])
        #expect(store.recorder?.failure != nil)
        try store.close()
        // The directory goes away under a running recording: the writer cannot create its
        // file, recording stops, the store goes on, and the failure is there once the writer
        // has met it (at the latest when the handle closes).
        let gone = try CacheStore(directory: dir.file("u"), options: Options(traceRecording: TraceRecording(chunkRequests: 1)))
        try FileManager.default.removeItem(atPath: dir.file("u/traces"))
        for i in 0..<5 { try gone.set([UInt8(i)], forKey: "k\(i)") }
        #expect(try gone.value(forKey: "k4") == [4])
        try gone.close()
        #expect(gone.recorder?.failure != nil)
        let bench = try CacheCtlBinary.run(["bench", "--trace-dir", dir.file("nothing"), "--capacity", "10"])
        #expect(bench.status == 3 && bench.err.contains(dir.file("nothing")), "\(bench.err)")
        let both = try CacheCtlBinary.run(["bench", "--trace-dir", dir.path, "--trace", "x", "--capacity", "10"])
        #expect(both.status == 2)
    }
}

@Suite("Trace recording from many threads")
struct TraceRecordingThreadTests {
    /// Full chunks go to a background writer while the next one fills; with chunks of 16
    /// requests and eight threads the writer is often still busy, so recorders wait for it.
    @Test("Every request of eight threads is in the file, each thread's in its order, with small chunks")
    func manyThreads() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path, options: Options(traceRecording: TraceRecording(chunkRequests: 16)))
        let perThread = 2_000
        onThreads(8) { t in
            for i in 0..<perThread { try? store.set([UInt8(t)], forKey: "t\(t)-\(i)") }
        }
        try store.close()
        let trace = try RecordedTrace.load(directory: dir.file("traces"))
        #expect(trace.requests.count == 8 * perThread)
        #expect(trace.requests.allSatisfy { $0.operation == .set })
        // Each thread's keys appear in the order it wrote them.
        for t in 0..<8 {
            let mine = (0..<perThread).map { KeyHash.hash(Array("t\(t)-\($0)".utf8)) }
            let wanted = Set(mine)
            let seen = trace.requests.map(\.keyHash).filter { wanted.contains($0) }
            let inOrder = seen == mine
            #expect(inOrder, "thread \(t): \(seen.count) of its \(mine.count) requests found, not all in order")
        }
        #expect(store.recorder?.failure == nil)
    }
}
