import Foundation
import Testing
@testable import LogCache
import LogCacheSimulation

/// Runs the built `cachectl` (it sits next to the test bundle in the build directory).
enum CacheCtlBinary {
    static let path: String? = {
        var candidates: [URL] = []
        if let exe = Bundle.main.executableURL { candidates.append(exe.deletingLastPathComponent()) }
        candidates.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent())
        for dir in candidates {
            var d = dir
            for _ in 0..<4 {
                let p = d.appendingPathComponent("cachectl").path
                if FileManager.default.isExecutableFile(atPath: p) { return p }
                d = d.deletingLastPathComponent()
            }
        }
        return nil
    }()

    /// Exit status, standard output and standard error of `cachectl arguments`.
    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, out: String, err: String) {
        guard let path else { throw CocoaError(.fileNoSuchFile) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = arguments
        if !environment.isEmpty {
            p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }
}

@Suite(.enabled(if: CacheCtlBinary.path != nil, "the cachectl executable is not next to the test bundle"))
struct BenchCommandTests {
    @Test func jsonResultsMatchTheSimulator() throws {
        let trace = "zipf:alpha=0.9,objects=2000,requests=30000,seed=5"
        let r = try CacheCtlBinary.run(["bench", "--trace", trace, "--policy", "lru,sieve", "--capacity", "100,400",
                                        "--count-based", "--json"])
        #expect(r.status == 0, "\(r.err)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [[String: Any]])
        #expect(rows.count == 4)
        for key in ["policy", "capacity", "requests", "misses", "missRatio", "missBytes", "byteMissRatio", "requestsPerSecond"] {
            #expect(rows.allSatisfy { $0[key] != nil }, "key \(key)")
        }
        #expect(rows.map { $0["policy"] as? String } == ["lru", "lru", "sieve", "sieve"])
        #expect(rows.map { $0["capacity"] as? Int } == [100, 400, 100, 400])
        for row in rows {
            let kind = try #require(SimulatedPolicyKind(name: row["policy"] as? String ?? ""))
            let run = kind.makeRun(capacity: row["capacity"] as? Int ?? 0, countBased: true)
            var reader = try TraceOpener.open(trace)
            try Replay.run(&reader, runs: [run])
            #expect(row["requests"] as? Int == 30000)
            #expect(row["misses"] as? Int == run.result.counts.misses)
            #expect(row["missBytes"] as? Int == run.result.counts.missBytes)
            let ratio = try #require(row["missRatio"] as? Double)
            #expect(abs(ratio - run.result.counts.missRatio) < 1e-12)
            #expect((row["requestsPerSecond"] as? Double ?? 0) > 0)
        }
        // A bigger cache misses less.
        #expect((rows[0]["misses"] as? Int ?? 0) > (rows[1]["misses"] as? Int ?? 0))
    }

    @Test("--save-trace writes a synthetic trace as oracleGeneral, next accesses included, which replays to the same counts")
    func saveSyntheticTrace() throws {
        let dir = ScratchDirectory()
        let file = dir.path + "/z.oracleGeneral.bin"
        let trace = "zipf:alpha=0.9,objects=500,requests=5000,seed=2,size=10-1000"
        let first = try CacheCtlBinary.run(["bench", "--trace", trace, "--policy", "lru,lhd", "--capacity", "20KiB,100KiB",
                                            "--json", "--save-trace", file])
        #expect(first.status == 0, "\(first.err)")
        let data = try Data(contentsOf: URL(fileURLWithPath: file))
        #expect(data.count == 5000 * OracleGeneralRecord.size)
        // Every record's next access is the 1-based index of the next request for its id.
        var saved: [TraceRequest] = []
        var reader = try TraceOpener.open(file, format: .oracleGeneral)
        while let r = try reader.next() { saved.append(r) }
        var original: [TraceRequest] = []
        var synthetic = try TraceOpener.open(trace)
        while let r = try synthetic.next() { original.append(r) }
        #expect(saved.map(\.id) == original.map(\.id) && saved.map(\.size) == original.map(\.size))
        for (i, r) in saved.enumerated() {
            let next = saved[(i + 1)...].firstIndex { $0.id == r.id }.map { Int64($0 + 1) } ?? -1
            if r.nextAccess != next {
                Issue.record("request \(i + 1): next access \(r.nextAccess), expected \(next)")
                break
            }
        }
        let again = try CacheCtlBinary.run(["bench", "--trace", file, "--policy", "lru,lhd,belady", "--capacity", "20KiB,100KiB", "--json"])
        #expect(again.status == 0, "\(again.err)")
        let rows = { (out: String) in (try? JSONSerialization.jsonObject(with: Data(out.utf8)) as? [[String: Any]]) ?? [] }
        let before = rows(first.out).compactMap { $0["misses"] as? Int }
        let after = rows(again.out).compactMap { $0["misses"] as? Int }
        #expect(before.count == 4 && Array(after.prefix(4)) == before)
        #expect(after.count == 6 && after[4] <= before[0] && after[5] <= before[1], "Belady is the bound: \(after)")
        let sampled = try CacheCtlBinary.run(["bench", "--trace", trace, "--capacity", "20KiB", "--sample", "0.5", "--save-trace", file])
        #expect(sampled.status == 2 && sampled.err.contains("--sample"), "\(sampled.err)")
    }

    @Test func fileTraceWithWarmupAndCSV() throws {
        let dir = ScratchDirectory()
        let requests = (0..<1000).map { TraceRequest(time: Int64($0), id: UInt64($0 % 10), size: 100, nextAccess: -1) }
        let file = try dir.write("w.oracleGeneral.bin", oracleRecords(requests))
        let r = try CacheCtlBinary.run(["bench", "--trace", file, "--policy", "fifo", "--capacity", "1KiB", "--warmup", "0.5", "--csv"])
        #expect(r.status == 0, "\(r.err)")
        let lines = r.out.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines.first?.hasPrefix("policy,capacity,requests,misses,missRatio,missBytes,byteMissRatio,requestsPerSecond") == true)
        let fields = lines.last?.split(separator: ",").map(String.init) ?? []
        #expect(Array(fields.prefix(6)) == ["fifo", "1024", "500", "0", "0.0", "0"])  // ten objects fit; warm-up loaded them
    }

    @Test func usageErrorsExitWith2() throws {
        for args in [["bench", "--trace", "zipf:requests=10", "--capacity", "12Q"],
                     ["bench", "--trace", "zipf:requests=10", "--capacity", "1MiB", "--policy", "lru,bogus"],
                     ["bench", "--trace", "zipf:requests=10", "--capacity", "1MiB", "--json", "--csv"],
                     ["bench", "--trace", "zipf:requests=10", "--capacity", "1MiB", "--warmup", "1.5"],
                     ["bench", "--trace", "zipf:alpha=-1", "--capacity", "1MiB"],
                     ["bench", "--trace", "trace.unknown", "--capacity", "1MiB"],
                     ["bench", "--trace", "zipf:requests=10", "--capacity", "1MiB", "--policy", "belady"],
                     ["bench", "--capacity", "1MiB"]] {
            let r = try CacheCtlBinary.run(args)
            #expect(r.status == 2, "\(args): \(r.err)")
            #expect(!r.err.isEmpty)
        }
    }

    @Test func badTraceContentsExitWith3() throws {
        let dir = ScratchDirectory()
        let file = try dir.write("bad.lis", text: "1 2 0 1\nnonsense\n")
        let r = try CacheCtlBinary.run(["bench", "--trace", file, "--capacity", "10", "--count-based"])
        #expect(r.status == 3)
        #expect(r.err.contains("line 2"))
        let missing = try CacheCtlBinary.run(["bench", "--trace", dir.path + "/absent.csv", "--capacity", "10"])
        #expect(missing.status == 3)
        #expect(missing.err.contains("absent.csv"))
    }

    @Test func tableHasOneRowPerPolicyAndCapacity() throws {
        let r = try CacheCtlBinary.run(["bench", "--trace", "loop:objects=50,requests=1000", "--policy", "lru,clock,arc",
                                        "--capacity", "10,100", "--count-based"])
        #expect(r.status == 0)
        let lines = r.out.split(separator: "\n")
        #expect(lines.count == 7)
        #expect(lines.first?.contains("miss ratio") == true)
        #expect(r.err.isEmpty)  // no progress bar when standard error is not a terminal
    }
}

@Suite("cachectl bench --sample: SHARDS's spatial sampling")
struct BenchSampleTests {
    /// The miss ratios of `kinds` at `capacities` (objects), replayed whole or sampled.
    func missRatios(_ trace: String, _ kinds: [SimulatedPolicyKind], _ capacities: [Int],
                    rate: Double?) throws -> (ratios: [Double], share: Double) {
        var reader: any TraceReader = try TraceOpener.open(trace)
        if let rate { reader = SampledTraceReader(reader, rate: rate) }
        let runs: [any SimulationRun] = kinds.flatMap { k in
            capacities.map { c in k.makeRun(capacity: rate.map { SampledTraceReader.scaled(c, rate: $0) } ?? c, countBased: true) }
        }
        try Replay.run(&reader, runs: runs, threads: 2)
        return (runs.map(\.result.counts.missRatio), (reader as? SampledTraceReader)?.expectedShareKept ?? 1)
    }

    @Test("A 10% sample of a uniform trace gives the policies' curves within 0.01 of the full replay")
    func sampledCurveIsClose() throws {
        let trace = "uniform:objects=60k,requests=600k,seed=3"
        let kinds: [SimulatedPolicyKind] = [.lru, .arc]
        let capacities = [600, 3_000, 15_000, 30_000, 60_000]
        let full = try missRatios(trace, kinds, capacities, rate: nil)
        let sampled = try missRatios(trace, kinds, capacities, rate: 0.1)
        #expect(abs(sampled.share - 1) < 0.05, "a typical sample: \(sampled.share)")
        for (i, (a, b)) in zip(full.ratios, sampled.ratios).enumerated() {
            #expect(abs(a - b) <= 0.01, "run \(i): \(a) whole, \(b) sampled")
        }
    }

    @Test("A sample that kept far more or fewer requests than its rate is flagged, on standard error")
    func skewedSampleWarns() throws {
        let skewed = try CacheCtlBinary.run(["bench", "--trace", "zipf:alpha=1.2,objects=100k,requests=200k,seed=1",
                                             "--count-based", "--capacity", "1000", "--sample", "0.01", "--json"])
        #expect(skewed.status == 0)
        #expect(skewed.err.contains("warning: the sample kept"), "\(skewed.err)")
        let rows = try JSONSerialization.jsonObject(with: Data(skewed.out.utf8)) as? [[String: Any]]
        #expect(rows?.first?["sampleRate"] as? Double == 0.01)
        #expect(rows?.first?["capacity"] as? Int == 1000, "rows name the capacity asked for")
        let uniform = try CacheCtlBinary.run(["bench", "--trace", "uniform:objects=100k,requests=200k,seed=1",
                                              "--count-based", "--capacity", "1000", "--sample", "0.2"])
        #expect(uniform.status == 0 && !uniform.err.contains("warning"), "\(uniform.err)")
        for bad in ["0", "-0.5", "1.5", "nan"] {
            let r = try CacheCtlBinary.run(["bench", "--trace", "uniform:objects=10,requests=10", "--capacity", "5",
                                            "--count-based", "--sample", bad])
            #expect(r.status == 2 && r.err.contains("--sample"), "--sample \(bad): \(r.err)")
        }
    }
}

@Suite("cachectl bench --sizes auto")
struct BenchAutoSizesTests {
    @Test("--sizes auto: 12 log-spaced capacities up to the working set, where LRU misses only the first requests")
    func automaticSizes() throws {
        let r = try CacheCtlBinary.run(["bench", "--trace", "uniform:objects=1000,requests=5000,seed=2", "--count-based",
                                        "--sizes", "auto", "--json"])
        #expect(r.status == 0, "\(r.err)")
        let rows = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [[String: Any]] ?? []
        let capacities = rows.compactMap { $0["capacity"] as? Int }
        // The distinct objects of the trace, counted here the way bench counts them.
        var reader = try TraceOpener.open("uniform:objects=1000,requests=5000,seed=2")
        var distinct = Set<UInt64>()
        while let q = try reader.next() { distinct.insert(q.id) }
        #expect(capacities.count == 12)
        #expect(capacities.last == distinct.count)
        #expect(capacities.first == max(1, Int((Double(distinct.count) / 1000).rounded())))
        #expect(capacities == capacities.sorted() && Set(capacities).count == capacities.count)
        #expect(rows.last?["misses"] as? Int == distinct.count, "a cache as large as the working set misses once per object")
        for bad in [["--sizes", "12"], ["--sizes", "auto", "--capacity", "10"], [],
                    ["--policy", "lru,lirs", "--ttl", "5", "--capacity", "10"]] {
            let e = try CacheCtlBinary.run(["bench", "--trace", "uniform:objects=10,requests=10", "--count-based"] + bad)
            #expect(e.status == 2, "\(bad): \(e.err)")
        }
    }
}

/// Whether python3 can import matplotlib: tools/test installs it, so CI always draws.
let matplotlibAvailable: Bool = {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "-c", "import matplotlib"]
    p.standardError = FileHandle.nullDevice
    guard (try? p.run()) != nil else { return false }
    p.waitUntilExit()
    return p.terminationStatus == 0
}()

@Suite("cachectl bench --plot")
struct BenchPlotTests {
    let trace = "zipf:alpha=0.9,objects=2000,requests=20000,seed=5"

    @Test("--plot writes the format its extension names, by requests or by bytes, with Belady's bound",
          .enabled(if: matplotlibAvailable, "python3 cannot import matplotlib (tools/test installs it)"),
          arguments: [("svg", Array("<?xml".utf8)), ("png", [0x89, 0x50, 0x4E, 0x47]), ("pdf", Array("%PDF".utf8))])
    func formats(_ ext: String, _ magic: [UInt8]) throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        for metric in ["miss-ratio", "byte-miss-ratio"] {
            let out = dir.file("mrc-\(metric).\(ext)")
            let r = try CacheCtlBinary.run(["bench", "--trace", trace, "--policy", "lru,s3-fifo", "--sizes", "auto",
                                            "--count-based", "--plot", out, "--metric", metric])
            #expect(r.status == 0, "\(r.err)")
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: out)))
            #expect(bytes.starts(with: magic), "\(out) is not \(ext)")
        }
    }

    @Test("--plot without matplotlib fails before the replay, naming the command that installs it; a bad extension or metric is a usage error")
    func refusals() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        // A real python3 that cannot import matplotlib: a package of that name that refuses to load.
        try FileManager.default.createDirectory(atPath: dir.file("hide/matplotlib"), withIntermediateDirectories: true)
        try Data("raise ImportError('hidden')\n".utf8).write(to: URL(fileURLWithPath: dir.file("hide/matplotlib/__init__.py")))
        // The trace is not even there: the refusal comes before the trace is opened, let alone replayed.
        let r = try CacheCtlBinary.run(["bench", "--trace", dir.file("no-such-trace.bin"), "--capacity", "1MiB",
                                        "--plot", dir.file("x.svg")],
                                       environment: ["PYTHONPATH": dir.file("hide")])
        #expect(r.status == 3)
        #expect(r.err.contains("matplotlib") && r.err.contains("pip install matplotlib"), "\(r.err)")
        #expect(!r.err.contains("no-such-trace"), "\(r.err)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("x.svg")))
        for bad in [["--plot", dir.file("x.jpg")], ["--plot", dir.file("x")], ["--metric", "hits"]] {
            let e = try CacheCtlBinary.run(["bench", "--trace", trace, "--capacity", "10", "--count-based"] + bad)
            #expect(e.status == 2, "\(bad): \(e.err)")
        }
    }
}
