/// The ARC paper's `.lis` traces: lines of `start nblocks ignore reqno`; a line stands for the
/// blocks `start` … `start+nblocks-1`, each one request of size 1. The trace has no clock: a
/// request's time is its index once expanded.
public struct LISTraceReader: TraceReader {
    private let input: BufferedInput
    private let name: String
    private var lineNumber = 0
    private var nextBlock: UInt64 = 0
    private var remaining: UInt64 = 0
    private var index: Int64 = 0

    /// Reads `input`; `name` names it in messages.
    public init(_ input: BufferedInput, name: String) {
        self.input = input
        self.name = name
    }

    public mutating func next() throws(TraceError) -> TraceRequest? {
        while remaining == 0 {
            guard let raw = try input.line(what: name) else { return nil }
            lineNumber += 1
            let fields = TextFields.split(raw, delimiter: nil)
            if fields.isEmpty { continue }
            guard fields.count >= 2 else {
                throw TraceError("\(name) line \(lineNumber): expected \"start nblocks ignore reqno\", found \(TextFields.show(raw))")
            }
            guard let start = TextFields.unsigned(fields[0]) else {
                throw TraceError("\(name) line \(lineNumber): start block \(TextFields.show(fields[0])) is not a number")
            }
            guard let count = TextFields.unsigned(fields[1]) else {
                throw TraceError("\(name) line \(lineNumber): block count \(TextFields.show(fields[1])) is not a number")
            }
            nextBlock = start
            remaining = count
        }
        let r = TraceRequest(time: index, id: nextBlock, size: 1)
        nextBlock &+= 1
        remaining -= 1
        index += 1
        return r
    }

    public var knownRequestCount: Int? { nil }
    public var fractionRead: Double { input.fractionRead }
    public var hasNextAccess: Bool { false }
}
