import Foundation

/// Turns an `Encodable` value into canonical bytes: the same logical value gives the same
/// bytes in every process, on every run and on every platform, and values that differ in any
/// encoded field give different bytes. Memo keys are the SHA-256 of these bytes.
///
/// The bytes are JSON text without whitespace:
/// - object members sorted by the UTF-8 bytes of their names;
/// - `Dictionary` and `Set` sorted too (their iteration order changes from process to process,
///   because Swift seeds its hashing randomly at launch): a dictionary whose keys encode as
///   strings or numbers becomes an object, any other dictionary an array of `[key, value]`
///   pairs sorted by the key's canonical bytes; a set becomes an array sorted by each
///   element's canonical bytes. Every other sequence keeps its order, which is taken to mean
///   something;
/// - numbers in one fixed text whatever their Swift type (see ``CanonicalNumber``): `5`,
///   `5.0` and `UInt8(5)` agree, `0.1` is `1e-1`; NaN and infinities are refused;
/// - strings as their exact UTF-8 bytes (no Unicode normalization: different bytes are a
///   different request), escaped only where JSON requires it;
/// - `nil` written with `encodeNil` as `null`; an optional left out with `encodeIfPresent`
///   (what synthesized `Codable` does) is absent, so `nil` and a default value differ.
///
/// Fields named in ``excludedFields`` are left out wherever they occur: a keyed field of any
/// type or a dictionary key, at any depth.
public struct CanonicalEncoder: Sendable {
    /// Names of fields (and dictionary keys) left out of the encoding, at any depth.
    public var excludedFields: Set<String>

    /// An encoder that leaves out the fields named in `excluding`.
    public init(excluding: Set<String> = []) {
        excludedFields = excluding
    }

    /// The canonical bytes of `value`.
    ///
    /// - Throws: ``MemoError/unencodableKey(path:reason:)`` when the value cannot be encoded
    ///   canonically (a NaN or infinite number, or an error its `encode(to:)` throws), naming
    ///   the field.
    public func encode<T: Encodable>(_ value: T) throws(MemoError) -> [UInt8] {
        try canonicalValue(value).bytes
    }

    /// The canonical bytes of `value` as text, for seeing what a key is made of.
    public func text<T: Encodable>(_ value: T) throws(MemoError) -> String {
        String(decoding: try encode(value), as: UTF8.self)
    }

    func canonicalValue<T: Encodable>(_ value: T) throws(MemoError) -> CanonicalValue {
        let slot = CanonicalSlot()
        do {
            try CanonicalWriter(codingPath: [], slot: slot, excluded: excludedFields).write(value)
        } catch let error as EncodingError {
            throw MemoError(encodingError: error)
        } catch {
            throw .unencodableKey(path: "", reason: "\(error)")
        }
        return slot.resolved
    }
}

extension MemoError {
    /// The memo error for an encoding failure, naming the field it happened at.
    init(encodingError: EncodingError) {
        switch encodingError {
        case .invalidValue(_, let context):
            self = .unencodableKey(path: Self.pathText(context.codingPath), reason: context.debugDescription)
        @unknown default:
            self = .unencodableKey(path: "", reason: "\(encodingError)")
        }
    }

    /// `messages[2].content`: keys joined with dots, indexes in brackets.
    static func pathText(_ path: [any CodingKey]) -> String {
        var text = ""
        for key in path {
            if let index = key.intValue, key.stringValue == "Index \(index)" || key.stringValue == "\(index)" {
                text += "[\(index)]"
            } else {
                text += (text.isEmpty ? "" : ".") + key.stringValue
            }
        }
        return text
    }
}

/// Where an encoded value goes: filled in later by whichever container is asked for, so that
/// a nested container writes into its parent (containers are handed out by value).
final class CanonicalSlot {
    enum Content {
        case empty
        case value(CanonicalValue)
        case object(CanonicalObject)
        case array(CanonicalArray)
    }

    var content: Content = .empty

    /// The finished value; a value that wrote nothing at all is an empty object, as in JSON.
    var resolved: CanonicalValue {
        switch content {
        case .empty: .object([:])
        case .value(let v): v
        case .object(let o): .object(o.members.mapValues(\.resolved))
        case .array(let a): .array(a.items.map(\.resolved))
        }
    }

    /// The object this slot holds, turning it into one when it holds anything else.
    func object() -> CanonicalObject {
        if case .object(let o) = content { return o }
        let o = CanonicalObject()
        content = .object(o)
        return o
    }

    /// The array this slot holds, turning it into one when it holds anything else.
    func array() -> CanonicalArray {
        if case .array(let a) = content { return a }
        let a = CanonicalArray()
        content = .array(a)
        return a
    }
}

/// The members of an object being encoded, by the UTF-8 bytes of their names.
final class CanonicalObject {
    var members: [[UInt8]: CanonicalSlot] = [:]
}

/// The items of an array being encoded.
final class CanonicalArray {
    var items: [CanonicalSlot] = []
}

/// The `Encoder` handed to `encode(to:)`: one slot, the path to it and the excluded names.
struct CanonicalWriter: Encoder {
    let codingPath: [any CodingKey]
    let slot: CanonicalSlot
    let excluded: Set<String>

    var userInfo: [CodingUserInfoKey: Any] { [:] }

    /// Encodes `value` into this writer's slot, sorting the collections whose order is not
    /// part of their value.
    func write<T: Encodable>(_ value: T) throws {
        if let unordered = value as? any CanonicalUnordered {
            slot.content = .value(try unordered.canonicalValue(codingPath: codingPath, excluded: excluded))
        } else if let decimal = value as? Decimal {
            guard let text = CanonicalNumber.text(decimal: decimal.description) else {
                throw EncodingError.invalidValue(value, .init(
                    codingPath: codingPath, debugDescription: "the decimal \(decimal) is not a finite number"))
            }
            slot.content = .value(.number(text))
        } else {
            try value.encode(to: self)
        }
    }

    /// A writer for a slot one level down.
    func child(_ slot: CanonicalSlot, key: any CodingKey) -> CanonicalWriter {
        CanonicalWriter(codingPath: codingPath + [key], slot: slot, excluded: excluded)
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(CanonicalKeyedContainer<Key>(writer: self, object: slot.object()))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        CanonicalUnkeyedContainer(writer: self, array: slot.array())
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        CanonicalSingleValueContainer(writer: self)
    }
}

/// A position in an array or a dictionary entry, as a coding key.
struct CanonicalIndexKey: CodingKey {
    var intValue: Int?
    var stringValue: String

    init(index: Int) {
        intValue = index
        stringValue = "\(index)"
    }

    init?(intValue: Int) { self.init(index: intValue) }

    init?(stringValue: String) {
        intValue = nil
        self.stringValue = stringValue
    }
}
