/// Which columns of a CSV trace hold what, libCacheSim style (columns count from 1).
public struct CSVTraceOptions: Sendable, Equatable {
    /// The column of the clock (seconds; a fractional part is dropped), nil when there is none.
    public var timeColumn: Int?
    /// The column of the object id (numbers are used as they are, other names hashed).
    public var idColumn: Int
    /// The column of the object size, nil for size 1.
    public var sizeColumn: Int?
    /// Whether the first line is a header to skip.
    public var hasHeader: Bool
    /// The field separator.
    public var delimiter: UInt8

    /// `time=1,id=2,size=3`, no header, comma-separated.
    public init(timeColumn: Int? = 1, idColumn: Int = 2, sizeColumn: Int? = 3, hasHeader: Bool = false,
                delimiter: UInt8 = UInt8(ascii: ",")) {
        self.timeColumn = timeColumn
        self.idColumn = idColumn
        self.sizeColumn = sizeColumn
        self.hasHeader = hasHeader
        self.delimiter = delimiter
    }

    /// Parses a column map such as `time=1,id=2,size=3` (`op=N` is accepted and ignored;
    /// `time=0` or `size=0` means the trace has no such column). Other fields keep their defaults.
    public static func parseColumns(_ text: String, into options: inout CSVTraceOptions) throws(TraceError) {
        for part in text.split(separator: ",") {
            let kv = part.split(separator: "=", maxSplits: 1).map { $0.trimmingSpaces }
            guard kv.count == 2, let n = Int(kv[1]), n >= 0 else {
                throw TraceError.usage("bad CSV column \"\(part)\": expected NAME=NUMBER, e.g. time=1,id=2,size=3")
            }
            switch kv[0].lowercased() {
            case "time": options.timeColumn = n == 0 ? nil : n
            case "id", "obj_id", "key": 
                guard n > 0 else { throw TraceError.usage("the CSV id column must be 1 or more") }
                options.idColumn = n
            case "size", "obj_size": options.sizeColumn = n == 0 ? nil : n
            case "op": break
            default: throw TraceError.usage("unknown CSV column name \"\(kv[0])\": use time, id, size (or op)")
            }
        }
    }
}

extension Substring {
    var trimmingSpaces: String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}

/// CSV traces with configurable columns (see ``CSVTraceOptions``). Empty lines are skipped;
/// a line without the id column, or with a size or time that is not a number, is an error
/// naming the line.
public struct CSVTraceReader: TraceReader {
    private let input: BufferedInput
    private let name: String
    private let options: CSVTraceOptions
    private var lineNumber = 0
    private var index: Int64 = 0

    /// Reads `input` with `options`; `name` names it in messages.
    public init(_ input: BufferedInput, name: String, options: CSVTraceOptions) {
        self.input = input
        self.name = name
        self.options = options
    }

    public mutating func next() throws(TraceError) -> TraceRequest? {
        while let raw = try input.line(what: name) {
            lineNumber += 1
            if lineNumber == 1 && options.hasHeader { continue }
            if TextFields.trimmed(raw).isEmpty { continue }
            let fields = TextFields.split(raw, delimiter: options.delimiter)
            func field(_ column: Int, _ what: String) throws(TraceError) -> UnsafeRawBufferPointer {
                guard column <= fields.count else {
                    throw TraceError("\(name) line \(lineNumber): has \(fields.count) fields, no \(what) column \(column)")
                }
                return TextFields.trimmed(fields[column - 1])
            }
            let idField = try field(options.idColumn, "id")
            guard !idField.isEmpty else { throw TraceError("\(name) line \(lineNumber): the id field is empty") }
            var size = 1
            if let c = options.sizeColumn {
                let f = try field(c, "size")
                guard let v = TextFields.unsigned(f), v <= UInt64(Int.max) else {
                    throw TraceError("\(name) line \(lineNumber): size \(TextFields.show(f)) is not a non-negative integer")
                }
                size = Int(v)
            }
            var time = index
            if let c = options.timeColumn {
                let f = try field(c, "time")
                guard let v = TextFields.time(f) else {
                    throw TraceError("\(name) line \(lineNumber): time \(TextFields.show(f)) is not a number")
                }
                time = v
            }
            index += 1
            return TraceRequest(time: time, id: TextFields.objectID(idField), size: size)
        }
        return nil
    }

    public var knownRequestCount: Int? { nil }
    public var fractionRead: Double { input.fractionRead }
    public var hasNextAccess: Bool { false }
}
