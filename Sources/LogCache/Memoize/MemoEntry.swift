import Foundation

/// What a memo entry's value holds: JSON with the result (or, when failures are cached, the
/// failure's message) and the time the computation took.
///
/// ```json
/// {"computeMicroseconds":1523004,"kind":"value","memo":1,"value":{"answer":"…"}}
/// {"computeMicroseconds":80211,"kind":"failure","memo":1,"failure":"rate limited"}
/// ```
///
/// The result is written with `JSONEncoder`: plain data, never executable serialization,
/// so reading a store from elsewhere cannot run code.
enum MemoEntry {
    /// The version of this layout, in the `memo` field.
    static let layoutVersion = 1

    enum Kind: String, Codable {
        case value
        case failure
    }

    /// The fields every entry has, whatever the type of its result.
    struct Header: Decodable {
        var memo: Int
        var kind: Kind
        var computeMicroseconds: Int64
        var failure: String?

        var computeTime: Duration { .microseconds(computeMicroseconds) }
    }

    private enum Field: String, CodingKey {
        case memo, kind, computeMicroseconds, value, failure
    }

    private struct Writing<Value: Encodable>: Encodable {
        var kind: Kind
        var computeMicroseconds: Int64
        var value: Value?
        var failure: String?

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Field.self)
            try c.encode(MemoEntry.layoutVersion, forKey: .memo)
            try c.encode(kind, forKey: .kind)
            try c.encode(computeMicroseconds, forKey: .computeMicroseconds)
            // `encode`, not `encodeIfPresent`: an optional result that is nil must be written
            // as null, not left out.
            if let value { try c.encode(value, forKey: .value) }
            if let failure { try c.encode(failure, forKey: .failure) }
        }
    }

    private struct Reading<Value: Decodable>: Decodable {
        var value: Value

        init(from decoder: any Decoder) throws {
            value = try decoder.container(keyedBy: Field.self).decode(Value.self, forKey: .value)
        }
    }

    /// The bytes of an entry holding `value`.
    static func encode<Value: Encodable>(value: Value, computeTime: Duration) throws(CacheError) -> [UInt8] {
        try encode(Writing(kind: .value, computeMicroseconds: computeTime.microseconds, value: value, failure: nil))
    }

    /// The bytes of an entry holding a failure.
    static func encode(failure message: String, computeTime: Duration) throws(CacheError) -> [UInt8] {
        try encode(Writing<Int>(kind: .failure, computeMicroseconds: computeTime.microseconds, value: nil, failure: message))
    }

    private static func encode<Value: Encodable>(_ entry: Writing<Value>) throws(CacheError) -> [UInt8] {
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return [UInt8](try encoder.encode(entry))
        } catch {
            throw .coding("the result of type \(Value.self) cannot be encoded as JSON: \(error)")
        }
    }

    /// The bytes of an entry holding a result given as JSON text, kept as it is: a writer in
    /// another language gets back the very text it wrote (`1.0` stays `1.0`), and the entry
    /// is the one ``encode(value:computeTime:)`` writes for the same value, members in the
    /// same order (the sorted order of `JSONEncoder`'s `.sortedKeys`).
    ///
    /// - Throws: ``CacheError/coding(_:)`` when `text` is not one JSON value.
    static func encode(valueText text: [UInt8], computeTime: Duration) throws(CacheError) -> [UInt8] {
        // The engine's parser, not JSONSerialization: it takes UTF-8 only, so that the text
        // spliced into the entry below is text the entry's readers decode.
        do {
            _ = try text.withUnsafeBytes { b throws(JSONParser.Failure) in try JSONParser.parse(b) }
        } catch {
            throw .coding("the result is not one JSON value in UTF-8: \(error)")
        }
        let head = "{\"computeMicroseconds\":\(computeTime.microseconds),\"kind\":\"value\",\"memo\":\(layoutVersion),\"value\":"
        return Array(head.utf8) + text + [UInt8(ascii: "}")]
    }

    /// The JSON text of the result an entry holds (its `value` member, as written); nil when
    /// it holds none.
    ///
    /// Every writer puts the members in sorted order, so in an entry that holds a value the
    /// `value` member comes last, after members whose text cannot contain `,"value":` (two
    /// numbers and the string "value"): its text runs from there to the closing brace. The
    /// text found is checked to be JSON; an entry of another shape is decoded and encoded
    /// again instead.
    static func valueText(_ bytes: [UInt8]) -> [UInt8]? {
        let marker = Array(",\"value\":".utf8)
        if let start = bytes.firstRange(of: marker)?.upperBound, bytes.last == UInt8(ascii: "}"), start < bytes.count - 1 {
            let text = Array(bytes[start..<(bytes.count - 1)])
            if (try? text.withUnsafeBytes({ b throws(JSONParser.Failure) in try JSONParser.parse(b) })) != nil { return text }
        }
        guard let value = self.value(JSONValue.self, bytes) else { return nil }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(value)).map { [UInt8]($0) }
    }

    /// The header of an entry; nil when the bytes are not a memo entry of a known layout.
    static func header(_ bytes: [UInt8]) -> Header? {
        guard let h = try? JSONDecoder().decode(Header.self, from: Data(bytes)), h.memo == layoutVersion
        else { return nil }
        return h
    }

    /// The result an entry holds, decoded as `Value`; nil when it holds none or another type.
    static func value<Value: Decodable>(_ type: Value.Type, _ bytes: [UInt8]) -> Value? {
        try? JSONDecoder().decode(Reading<Value>.self, from: Data(bytes)).value
    }
}

extension Duration {
    /// Whole microseconds, rounded down; saturating at the ends of `Int64` rather than trapping.
    var microseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000)
        let (sum, over) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000_000)
        return overflow || over ? (seconds > 0 ? .max : .min) : sum
    }
}
