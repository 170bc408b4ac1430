/// The trace formats `cachectl bench` reads, and how a trace is opened.
public enum TraceFormat: String, Sendable, CaseIterable {
    /// Detect from the file name (see ``detect(path:)``).
    case auto
    /// libCacheSim's 24-byte binary records with next-access times.
    case oracleGeneral
    /// Comma-separated values with configurable columns.
    case csv
    /// One object id per line.
    case txt
    /// VMware vscsi binary records, version 1 or 2.
    case vscsi
    /// The ARC paper's block-range lines.
    case lis

    /// The format a file name implies, ignoring a final `.zst`: `*.oracleGeneral*` and `*.bin`
    /// are oracleGeneral, then `.csv`, `.txt`, `.vscsi`, `.lis`. Nil when none applies.
    public static func detect(path: String) -> TraceFormat? {
        var name = Substring(path.split(separator: "/").last ?? Substring(path)).lowercased()
        if name.hasSuffix(".zst") { name.removeLast(4) }
        if name.contains("oraclegeneral") || name.hasSuffix(".bin") { return .oracleGeneral }
        for (suffix, format) in [(".csv", TraceFormat.csv), (".txt", .txt), (".vscsi", .vscsi), (".lis", .lis)]
        where name.hasSuffix(suffix) {
            return format
        }
        return nil
    }

    /// The format named `text` on the command line (case-insensitive), if any.
    public init?(name text: String) {
        guard let f = Self.allCases.first(where: { $0.rawValue.lowercased() == text.lowercased() }) else { return nil }
        self = f
    }
}

/// Opens traces: files of any ``TraceFormat``, zstd-compressed or not, and synthetic traces.
public enum TraceOpener {
    /// A reader for `trace`: a synthetic specification (see ``SyntheticTraceSpec``) or a file
    /// path. Files ending in `.zst` are decompressed as they are read. Throws a usage error for
    /// an unknown or undetectable format, an input error when the file cannot be read.
    public static func open(_ trace: String, format: TraceFormat = .auto,
                            csv: CSVTraceOptions = CSVTraceOptions()) throws(TraceError) -> any TraceReader {
        if SyntheticTraceSpec.looksSynthetic(trace) {
            return SyntheticTraceReader(try SyntheticTraceSpec(parsing: trace))
        }
        var resolved = format
        if format == .auto {
            guard let f = TraceFormat.detect(path: trace) else {
                throw TraceError.usage("cannot tell the format of \(trace) from its name: give --format (oracleGeneral, csv, txt, vscsi or lis)")
            }
            resolved = f
        }
        let file = try FileByteSource(path: trace)
        let compressed = trace.lowercased().hasSuffix(".zst")
        let source: any ByteSource = compressed ? try ZstdStreamSource(file, name: trace) : file
        let input = BufferedInput(source)
        let rawSize = compressed ? nil : file.size
        switch resolved {
        case .auto, .oracleGeneral:
            if let rawSize, rawSize % OracleGeneralReader.recordSize != 0 {
                throw TraceError("\(trace) is not an oracleGeneral trace: its size (\(rawSize) bytes) is not a multiple of 24")
            }
            return OracleGeneralReader(input, name: trace, uncompressedSize: rawSize)
        case .csv: return CSVTraceReader(input, name: trace, options: csv)
        case .txt: return TextTraceReader(input, name: trace)
        case .vscsi: return try VSCSITraceReader(input, name: trace, uncompressedSize: rawSize)
        case .lis: return LISTraceReader(input, name: trace)
        }
    }
}
