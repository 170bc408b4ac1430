import Foundation

/// The `Encoder` handed to `encode(to:)`: one slot, the path to it and the excluded names.
struct CanonicalWriter: Encoder {
    let codingPath: [any CodingKey]
    let slot: CanonicalSlot
    let excluded: Set<String>

    var userInfo: [CodingUserInfoKey: Any] { [:] }

    /// Encodes `value` into this writer's slot, sorting the collections whose order is not
    /// part of their value.
    func write<T: Encodable>(_ value: T) throws {
        if let json = value as? JSONValue {
            // Straight to the canonical tree: what the Codable path makes of a JSONValue, without
            // a container per node (a proxy keys every request by its whole JSON body).
            slot.content = .value(try json.canonicalValue(codingPath: codingPath, excluded: excluded))
        } else if let unordered = value as? any CanonicalUnordered {
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
