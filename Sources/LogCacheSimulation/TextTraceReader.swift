/// Plain-text traces: one object id per line, each a request of size 1. Numeric ids are used
/// as they are; other names are hashed. Blank lines are skipped. The trace has no clock: a
/// request's time is its index.
public struct TextTraceReader: TraceReader {
    private let input: BufferedInput
    private let name: String
    private var index: Int64 = 0

    /// Reads `input`; `name` names it in messages.
    public init(_ input: BufferedInput, name: String) {
        self.input = input
        self.name = name
    }

    public mutating func next() throws(TraceError) -> TraceRequest? {
        while let raw = try input.line(what: name) {
            let field = TextFields.trimmed(raw)
            if field.isEmpty { continue }
            defer { index += 1 }
            return TraceRequest(time: index, id: TextFields.objectID(field), size: 1)
        }
        return nil
    }

    public var knownRequestCount: Int? { nil }
    public var fractionRead: Double { input.fractionRead }
    public var hasNextAccess: Bool { false }
}
