import ArgumentParser
import Foundation
import LogCache
import LogCacheSimulation

#if canImport(Glibc)
import Glibc
#endif

/// `cachectl bench --trace FILE --policy lru,... --capacity 128MiB,...`
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replay an access trace against eviction policies and compare miss ratios.",
        discussion: """
            Every policy is simulated at every capacity with libCacheSim's semantics: a miss is \
            counted with its bytes; an object larger than the cache is not inserted; otherwise \
            objects are evicted until it fits. The trace is read once, streaming.

            Trace formats (--format, detected from the name by default; a final .zst is \
            decompressed on the fly): oracleGeneral (*.oracleGeneral*, *.bin), csv, txt \
            (one id per line), vscsi, lis (ARC's "start nblocks ignore reqno").

            Synthetic traces instead of a file (seeded, deterministic; time = request index):
              zipf:alpha=0.99,objects=1000000,requests=10000000,seed=1
              uniform:objects=N,requests=R,seed=S
              loop:objects=N,requests=R        (0,1,…,N-1 repeated)
              scan:requests=R                  (every request a new object)
            Each takes size=B or size=MIN-MAX (default 1); numbers may end in k, M or G.

            Policies: \(SimulatedPolicyKind.allCases.map(\.rawValue).joined(separator: ", ")). \
            belady needs next-access times, which only oracleGeneral traces carry.

            Examples:
              cachectl bench --trace cloudPhysicsIO.oracleGeneral.bin --policy lru,sieve,s3-fifo --capacity 128MiB,256MiB,512MiB
              cachectl bench --trace OLTP.lis.zst --count-based --capacity 1000,10000 --policy lru,arc --json
              cachectl bench --trace zipf:alpha=0.8,objects=100k,requests=1M --count-based --sizes auto --policy lru,lfu,w-tinylfu --plot mrc.png
              LOGCACHE_TRACE=1 my-job; cachectl bench --trace-dir /var/cache/app/traces --sizes auto --policy lru,s3-fifo,arc,belady
            """
    )

    @Option(help: "The trace file, or a synthetic trace (see below).")
    var trace: String?

    @Option(help: ArgumentHelp("Instead of --trace: the traces/ directory of a store that recorded its own requests (Options.traceRecording, or LOGCACHE_TRACE=1), every process's file merged.", valueName: "dir"))
    var traceDir: String?

    @Option(help: ArgumentHelp("Also write the trace replayed (a synthetic one, another format, or --trace-dir's merged files) to this file in libCacheSim's oracleGeneral format, so that other simulators can replay the same requests.", valueName: "file"))
    var saveTrace: String?

    @Option(help: "auto, oracleGeneral, csv, txt, vscsi or lis.")
    var format: String = "auto"

    @Option(help: "Comma-separated policies.")
    var policy: String = "lru"

    @Option(help: "Comma-separated cache sizes (4096, 64KiB, 128MiB, 1GB, …), or object counts with --count-based.")
    var capacity: String?

    @Option(help: ArgumentHelp("auto: 12 capacities from 0.1% to 100% of the trace's working set (its distinct objects' bytes, or their number with --count-based), instead of --capacity.", valueName: "auto"))
    var sizes: String?

    @Flag(help: "Count objects instead of bytes: every object has size 1.")
    var countBased = false

    @Option(help: "Give every object this time to live (seconds of trace time).")
    var ttl: Int64?

    @Option(help: "The fraction of requests (0 to <1) that only warm the cache and are not counted.")
    var warmup: Double = 0

    @Flag(help: "Print a JSON array instead of a table.")
    var json = false

    @Flag(help: "Print CSV instead of a table.")
    var csv = false

    @Option(help: "Write miss-ratio curves to this file, in the format its extension names: .svg, .png or .pdf (needs python3 with matplotlib).")
    var plot: String?

    @Option(help: "What --plot draws: miss-ratio (by requests) or byte-miss-ratio.")
    var metric: String = "miss-ratio"

    @Option(help: "CSV traces: which column holds what, e.g. time=1,id=2,size=3 (size=0: no size column).")
    var csvColumns: String?

    @Flag(help: "CSV traces: the first line is a header.")
    var csvHeader = false

    @Option(help: "CSV traces: the field separator (one character; \"tab\" for a tab).")
    var csvDelimiter: String = ","

    @Option(help: "Simulations to run at once (default: one per processor).")
    var jobs: Int?

    @Option(help: ArgumentHelp("Replay only this fraction of the objects (0 to 1, e.g. 0.01), against caches scaled by it (SHARDS): an approximate curve for a fraction of the work.", valueName: "rate"))
    var sample: Double?

    func validate() throws {
        if json && csv { throw ValidationError("Choose --json or --csv, not both.") }
        if (trace == nil) == (traceDir == nil) { throw ValidationError("Give --trace FILE or --trace-dir DIR, one of them.") }
        if saveTrace != nil && sample != nil { throw ValidationError("--save-trace writes the whole trace; leave out --sample.") }
        if !(0..<1).contains(warmup) { throw ValidationError("--warmup must be at least 0 and below 1, not \(warmup).") }
        if let ttl, ttl <= 0 { throw ValidationError("--ttl must be positive.") }
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1.") }
        if let plot, PlotScript.format(of: plot) == nil {
            throw ValidationError("--plot \(plot): the file must end in .svg, .png or .pdf, which name its format.")
        }
        if PlotScript.metrics[metric] == nil {
            throw ValidationError("--metric must be miss-ratio or byte-miss-ratio, not \"\(metric)\".")
        }
        if let sample, !(sample > 0 && sample <= 1) {
            throw ValidationError("--sample must be above 0 and at most 1, not \(sample).")
        }
        let kinds = try policies()
        if ttl != nil, let k = kinds.first(where: { !$0.supportsTTL }) {
            throw ValidationError("--ttl cannot be used with \(k.rawValue), which keeps its own account of what is cached and has no expiry.")
        }
        switch (capacity, sizes) {
        case (nil, nil): throw ValidationError("Give --capacity SIZES or --sizes auto.")
        case (_?, _?): throw ValidationError("Give --capacity or --sizes, not both.")
        case (nil, let s?) where s != "auto": throw ValidationError("--sizes takes only \"auto\", not \"\(s)\".")
        default: break
        }
        if capacity != nil { _ = try capacities() }
        _ = try traceFormat()
        _ = try csvOptions()
    }

    func policies() throws -> [SimulatedPolicyKind] {
        var out: [SimulatedPolicyKind] = []
        for name in policy.split(separator: ",", omittingEmptySubsequences: false) {
            guard let kind = SimulatedPolicyKind(name: String(name).trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("unknown policy \"\(name)\": use \(SimulatedPolicyKind.allCases.map(\.rawValue).joined(separator: ", ")).")
            }
            if !out.contains(kind) { out.append(kind) }
        }
        return out
    }

    func capacities() throws -> [Int] {
        do {
            return try ByteSize.parseList(capacity ?? "", counts: countBased)
        } catch {
            throw ValidationError("--capacity: \(error.description)")
        }
    }

    func traceFormat() throws -> TraceFormat {
        guard let f = TraceFormat(name: format) else {
            throw ValidationError("unknown trace format \"\(format)\": use auto, oracleGeneral, csv, txt, vscsi or lis.")
        }
        return f
    }

    func csvOptions() throws -> CSVTraceOptions {
        var options = CSVTraceOptions()
        options.hasHeader = csvHeader
        let d = csvDelimiter == "tab" ? "\t" : csvDelimiter
        guard d.utf8.count == 1, let byte = d.utf8.first else {
            throw ValidationError("--csv-delimiter must be one character (or \"tab\"), not \"\(csvDelimiter)\".")
        }
        options.delimiter = byte
        if let csvColumns {
            do {
                try CSVTraceOptions.parseColumns(csvColumns, into: &options)
            } catch {
                throw ValidationError("--csv-columns: \(error.message)")
            }
        }
        return options
    }

    /// Twelve capacities, log-spaced from 0.1% to 100% of the working set: the distinct objects'
    /// sizes as first requested (or their number, with `--count-based`), found by reading the
    /// whole trace once beforehand.
    func automaticSizes(_ format: TraceFormat, _ options: CSVTraceOptions, _ recorded: RecordedTraceReader?) throws -> [Int] {
        var seen = Set<UInt64>()
        var workingSet = 0
        do {
            var reader = try openWhole(format, options, recorded)
            while let r = try reader.next() {
                guard seen.insert(r.id).inserted else { continue }
                // Sizes come from the file: a sum past Int.max stays at Int.max.
                let (sum, overflow) = workingSet.addingReportingOverflow(countBased ? 1 : r.size)
                workingSet = overflow ? .max : sum
            }
        } catch {
            throw error.isUsage ? ValidationError(error.message) : CommandFailure(message: error.message)
        }
        guard workingSet > 0 else {
            throw CommandFailure(message: "\(trace ?? traceDir ?? "the trace") holds no requests: --sizes auto has no working set to size")
        }
        var out: [Int] = []
        for i in 0..<12 {
            let size = max(1, Int((Double(workingSet) * pow(10, -3 + 3 * Double(i) / 11)).rounded()))
            if out.last != size { out.append(size) }
        }
        return out
    }

    /// The store's recorded trace of `--trace-dir`, read and merged once for every pass over
    /// it; nil for `--trace`.
    func loadRecorded() throws -> RecordedTraceReader? {
        guard let traceDir else { return nil }
        do {
            return try RecordedTraceReader(directory: traceDir)
        } catch {
            throw error.isUsage ? ValidationError(error.message) : CommandFailure(message: error.message)
        }
    }

    /// The whole trace, unsampled, from its start: the file or synthetic trace, or the
    /// store's recorded one (already merged in memory).
    func openWhole(_ format: TraceFormat, _ options: CSVTraceOptions, _ recorded: RecordedTraceReader?) throws(TraceError) -> any TraceReader {
        if let recorded { return recorded }
        return try TraceOpener.open(trace ?? "", format: format, csv: options)
    }

    /// Writes every request of `reader` into `path` in libCacheSim's oracleGeneral layout
    /// (`OracleGeneralRecord`), a megabyte at a time. A trace that carries next-access times is
    /// streamed; one without them is read whole first (32 bytes a request in memory) and given
    /// them, so that Belady runs on the file.
    func saveOracleGeneral(_ reader: inout any TraceReader, to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil),
              let out = FileHandle(forWritingAtPath: path) else {
            throw CommandFailure(message: "cannot create \(path)")
        }
        defer { try? out.close() }
        var chunk: [UInt8] = []
        chunk.reserveCapacity(1 << 20)
        func put(_ r: TraceRequest) throws {
            OracleGeneralRecord.append(r, to: &chunk)
            if chunk.count >= 1 << 20 {
                try out.write(contentsOf: chunk)
                chunk.removeAll(keepingCapacity: true)
            }
        }
        var requests: [TraceRequest] = []
        do {
            while let r = try reader.next() {
                if reader.hasNextAccess { try put(r) } else { requests.append(r) }
            }
            if !reader.hasNextAccess {
                var nextIndex: [UInt64: Int64] = [:]
                for i in stride(from: requests.count - 1, through: 0, by: -1) {
                    requests[i].nextAccess = nextIndex[requests[i].id] ?? -1
                    nextIndex[requests[i].id] = Int64(i + 1)
                }
                for r in requests { try put(r) }
            }
            try out.write(contentsOf: chunk)
        } catch let error as TraceError {
            throw error.isUsage ? ValidationError(error.message) : CommandFailure(message: error.message)
        } catch {
            throw CommandFailure(message: "cannot write \(path): \(error.localizedDescription)")
        }
    }

    /// Opens the trace, turning a usage problem into exit code 2 and a file problem into exit code 3.
    func openTrace(_ format: TraceFormat, _ options: CSVTraceOptions, _ recorded: RecordedTraceReader?) throws -> any TraceReader {
        do {
            let reader = try openWhole(format, options, recorded)
            if let sample, sample < 1 { return SampledTraceReader(reader, rate: sample) }
            return reader
        } catch {
            throw error.isUsage ? ValidationError(error.message) : CommandFailure(message: error.message)
        }
    }

    func run() throws {
        // A plot that cannot be drawn fails now, not after a long replay.
        if plot != nil { try PlotScript.checkReady() }
        let kinds = try policies()
        let format = try traceFormat()
        let options = try csvOptions()
        let recorded = try loadRecorded()
        let sizes = capacity == nil ? try automaticSizes(format, options, recorded) : try capacities()
        var reader = try openTrace(format, options, recorded)
        if let saveTrace {
            if let recorded {
                do {
                    try Data(recorded.oracleGeneralBytes()).write(to: URL(fileURLWithPath: saveTrace))
                } catch {
                    throw CommandFailure(message: "cannot write \(saveTrace): \(error.localizedDescription)")
                }
                for path in recorded.filesEndingEarly {
                    FileHandle.standardError.write(Data("note: \(path) ends in an incomplete chunk (a process killed while writing?); read up to its last whole one\n".utf8))
                }
            } else {
                var whole = try openTrace(format, options, nil)
                try saveOracleGeneral(&whole, to: saveTrace)
            }
        }
        if let k = kinds.first(where: \.needsNextAccess), !reader.hasNextAccess {
            throw ValidationError("\(k.rawValue) needs next-access times, which only oracleGeneral traces carry.")
        }
        var warmupRequests = 0
        if warmup > 0 {
            var total = reader.knownRequestCount
            if total == nil {
                // The length is unknown (text or compressed): count it in a first streaming pass.
                var counter = try openTrace(format, options, recorded)
                var n = 0
                do {
                    while try counter.next() != nil { n += 1 }
                } catch {
                    throw CommandFailure(message: error.message)
                }
                total = n
            }
            warmupRequests = Int((Double(total ?? 0) * warmup).rounded(.down))
        }

        var runs: [any SimulationRun] = []
        let rate = sample ?? 1
        for kind in kinds {
            for size in sizes {
                let scaled = rate < 1 ? SampledTraceReader.scaled(size, rate: rate) : size
                runs.append(kind.makeRun(capacity: scaled, countBased: countBased, ttl: ttl ?? 0))
            }
        }
        let bar = ProgressBar.make()
        do {
            try Replay.run(&reader, runs: runs, warmup: warmupRequests,
                           threads: jobs ?? ProcessInfo.processInfo.activeProcessorCount,
                           progress: bar.map { b in { fraction, count in b.update(fraction, count) } })
        } catch {
            bar?.finish()
            throw CommandFailure(message: error.message)
        }
        bar?.finish()
        if let sampled = reader as? SampledTraceReader, abs(sampled.expectedShareKept - 1) > 0.1 {
            let share = Double(sampled.requestsKept) / Double(max(sampled.requestsRead, 1))
            FileHandle.standardError.write(Data("""
                warning: the sample kept \(sampled.requestsKept) of \(sampled.requestsRead) requests (\(String(format: "%.2f", share * 100))%) \
                at a rate of \(String(format: "%.2f", rate * 100))%: a few objects carry more than that share of the trace, so the \
                curve may be far off; use a higher --sample rate, or none.\n
                """.utf8))
        }

        let results = runs.map(\.result)
        // Rows name the capacity asked for; a sampled row's counts are the sample's.
        let rows = zip(results, kinds.flatMap { _ in sizes }).map { result, size in
            var row = ResultRow(result)
            if rate < 1 {
                row.capacity = size
                row.sampleRate = rate
            }
            return row
        }
        if json {
            print(try Self.jsonText(rows))
        } else if csv {
            print(Self.csvText(rows), terminator: "")
        } else {
            print(Self.table(rows, countBased: countBased), terminator: "")
        }
        if let plot {
            try PlotScript.plot(jsonText: try Self.jsonText(rows), output: plot, metric: PlotScript.metrics[metric] ?? "missRatio")
        }
    }

    /// One output row; the JSON keys are the property names.
    struct ResultRow: Encodable {
        var policy: String
        var capacity: Int
        var countBased: Bool
        var requests: Int
        var requestBytes: Int
        var misses: Int
        var missRatio: Double
        var missBytes: Int
        var byteMissRatio: Double
        var requestsPerSecond: Double
        var metadataBytesPerObject: Int
        /// The fraction of objects replayed (`--sample`); absent for a full replay.
        var sampleRate: Double?

        init(_ r: SimulationResult) {
            policy = r.policy
            capacity = r.capacity
            countBased = r.countBased
            requests = r.counts.requests
            requestBytes = r.counts.requestBytes
            misses = r.counts.misses
            missRatio = r.counts.missRatio
            missBytes = r.counts.missBytes
            byteMissRatio = r.counts.byteMissRatio
            requestsPerSecond = r.requestsPerSecond.rounded()
            metadataBytesPerObject = r.metadataBytesPerObject
        }
    }

    static func jsonText(_ rows: [ResultRow]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return String(decoding: try encoder.encode(rows), as: UTF8.self)
    }

    static func csvText(_ rows: [ResultRow]) -> String {
        var out = "policy,capacity,requests,misses,missRatio,missBytes,byteMissRatio,requestsPerSecond,metadataBytesPerObject\n"
        for r in rows {
            out += "\(r.policy),\(r.capacity),\(r.requests),\(r.misses),\(r.missRatio),\(r.missBytes),\(r.byteMissRatio),"
            out += "\(Int(r.requestsPerSecond)),\(r.metadataBytesPerObject)\n"
        }
        return out
    }

    static func table(_ rows: [ResultRow], countBased: Bool) -> String {
        let header = ["policy", "capacity", "requests", "misses", "miss ratio", "miss bytes", "byte miss ratio",
                      "req/s", "meta B/obj"]
        let cells: [[String]] = rows.map { r in
            [r.policy, countBased ? "\(r.capacity)" : ByteSize.format(r.capacity), "\(r.requests)", "\(r.misses)",
             String(format: "%.4f", r.missRatio), "\(r.missBytes)", String(format: "%.4f", r.byteMissRatio),
             Self.rate(r.requestsPerSecond), "\(r.metadataBytesPerObject)"]
        }
        var widths = header.map(\.count)
        for row in cells { for (i, c) in row.enumerated() { widths[i] = max(widths[i], c.count) } }
        func line(_ row: [String]) -> String {
            row.enumerated().map { i, c in
                let pad = String(repeating: " ", count: widths[i] - c.count)
                return i == 0 ? c + pad : pad + c
            }.joined(separator: "  ") + "\n"
        }
        return line(header) + cells.map(line).joined()
    }

    static func count(_ n: Int) -> String {
        n >= 1_000_000 ? String(format: "%.1fM", Double(n) / 1e6) : "\(n)"
    }

    static func rate(_ perSecond: Double) -> String {
        perSecond >= 1e6 ? String(format: "%.1fM", perSecond / 1e6) : String(format: "%.0fk", perSecond / 1e3)
    }
}

/// A progress bar on standard error, shown only when it is a terminal.
final class ProgressBar {
    private var last = 0.0
    private let started = Date()

    /// A bar, or nil when standard error is not a terminal.
    static func make() -> ProgressBar? { isatty(2) != 0 ? ProgressBar() : nil }

    func update(_ fraction: Double, _ requests: Int) {
        let now = Date().timeIntervalSince(started)
        if now - last < 0.1 { return }
        last = now
        let width = 30
        let filled = Int((fraction * Double(width)).rounded(.down))
        let bar = String(repeating: "#", count: min(filled, width)) + String(repeating: " ", count: max(width - filled, 0))
        let text = String(format: "\r[%@] %3.0f%%  %@ requests  %.1fs", bar, fraction * 100,
                          Bench.count(requests), now)
        writeAll(2, Array(text.utf8))
    }

    func finish() {
        writeAll(2, Array("\r\u{1B}[K".utf8))
    }
}
