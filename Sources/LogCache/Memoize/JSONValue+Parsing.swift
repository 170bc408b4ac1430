import Foundation

extension JSONValue {
    /// The value that JSON text stands for (one value: an object, an array, a string, a
    /// number, `true`, `false` or `null`), as decoding it with `JSONDecoder` makes it
    /// (`JSONParser` says how numbers are told apart and what is refused).
    ///
    /// - Throws: ``CacheError/coding(_:)`` naming what is wrong, and where, when the text is not JSON.
    public init(json: UnsafeRawBufferPointer) throws(CacheError) {
        do {
            self = try JSONParser.parse(json)
        } catch {
            throw .coding("not JSON: \(error)")
        }
    }
}

extension JSONValue {
    /// The canonical tree of the value, as the Codable path builds it: integers and doubles
    /// in their canonical text, members named in `excluded` left out at any depth, a NaN or
    /// an infinity refused with the path to it.
    func canonicalValue(codingPath: [any CodingKey], excluded: Set<String>) throws -> CanonicalValue {
        switch self {
        case .null: return .null
        case .bool(let b): return .bool(b)
        case .integer(let i): return .number(CanonicalNumber.text(i))
        case .number(let d):
            guard let text = CanonicalNumber.text(d) else {
                throw EncodingError.invalidValue(d, .init(codingPath: codingPath, debugDescription: "\(d) has no JSON text"))
            }
            return .number(text)
        case .string(let s): return .string(s)
        case .array(let items):
            var out: [CanonicalValue] = []
            out.reserveCapacity(items.count)
            for (i, item) in items.enumerated() {
                out.append(try item.canonicalValue(codingPath: codingPath + [AnyCodingKey(String(i))], excluded: excluded))
            }
            return .array(out)
        case .object(let members):
            var out: [[UInt8]: CanonicalValue] = [:]
            out.reserveCapacity(members.count)
            for (name, member) in members where !excluded.contains(name) {
                out[Array(name.utf8)] = try member.canonicalValue(codingPath: codingPath + [AnyCodingKey(name)], excluded: excluded)
            }
            return .object(out)
        }
    }
}
