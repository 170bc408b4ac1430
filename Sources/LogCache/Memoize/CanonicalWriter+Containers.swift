/// The single-value container: writes one value into the writer's slot.
struct CanonicalSingleValueContainer: SingleValueEncodingContainer {
    let writer: CanonicalWriter

    var codingPath: [any CodingKey] { writer.codingPath }

    private func set(_ value: CanonicalValue) { writer.slot.content = .value(value) }

    private func notFinite(_ value: Any) -> EncodingError {
        .invalidValue(value, .init(codingPath: codingPath,
                                   debugDescription: "\(value) is not a finite number, so it has no canonical form"))
    }

    mutating func encodeNil() throws { set(.null) }
    mutating func encode(_ value: Bool) throws { set(.bool(value)) }
    mutating func encode(_ value: String) throws { set(.string(value)) }

    mutating func encode(_ value: Double) throws {
        guard let text = CanonicalNumber.text(value) else { throw notFinite(value) }
        set(.number(text))
    }

    mutating func encode(_ value: Float) throws {
        guard let text = CanonicalNumber.text(value) else { throw notFinite(value) }
        set(.number(text))
    }

    mutating func encode(_ value: Int) throws { set(.number(CanonicalNumber.text(value))) }
    mutating func encode(_ value: Int8) throws { set(.number(CanonicalNumber.text(value))) }
    mutating func encode(_ value: Int16) throws { set(.number(CanonicalNumber.text(value))) }
    mutating func encode(_ value: Int32) throws { set(.number(CanonicalNumber.text(value))) }
    mutating func encode(_ value: Int64) throws { set(.number(CanonicalNumber.text(value))) }
    mutating func encode(_ value: Int128) throws { set(.number(CanonicalNumber.text(value))) }
    mutating func encode(_ value: UInt) throws { set(.number(CanonicalNumber.text(value))) }
    mutating func encode(_ value: UInt8) throws { set(.number(CanonicalNumber.text(value))) }
    mutating func encode(_ value: UInt16) throws { set(.number(CanonicalNumber.text(value))) }
    mutating func encode(_ value: UInt32) throws { set(.number(CanonicalNumber.text(value))) }
    mutating func encode(_ value: UInt64) throws { set(.number(CanonicalNumber.text(value))) }
    mutating func encode(_ value: UInt128) throws { set(.number(CanonicalNumber.text(value))) }

    mutating func encode<T: Encodable>(_ value: T) throws { try writer.write(value) }
}

/// The keyed container: each field gets its own slot in the object, except excluded ones,
/// which are encoded into a slot nobody reads (so that their `encode(to:)` still runs and
/// nested containers still work) and dropped.
struct CanonicalKeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let writer: CanonicalWriter
    let object: CanonicalObject

    var codingPath: [any CodingKey] { writer.codingPath }

    /// The writer for a field's slot; a later write of the same field replaces the earlier.
    private func field(_ key: some CodingKey) -> CanonicalWriter {
        let slot = CanonicalSlot()
        if !writer.excluded.contains(key.stringValue) {
            object.members[Array(key.stringValue.utf8)] = slot
        }
        return writer.child(slot, key: key)
    }

    private func single(_ key: Key) -> CanonicalSingleValueContainer {
        CanonicalSingleValueContainer(writer: field(key))
    }

    mutating func encodeNil(forKey key: Key) throws { var c = single(key); try c.encodeNil() }
    mutating func encode(_ value: Bool, forKey key: Key) throws { var c = single(key); try c.encode(value) }
    mutating func encode(_ value: String, forKey key: Key) throws { var c = single(key); try c.encode(value) }
    mutating func encode(_ value: Double, forKey key: Key) throws { var c = single(key); try c.encode(value) }
    mutating func encode(_ value: Float, forKey key: Key) throws { var c = single(key); try c.encode(value) }
    mutating func encode(_ value: Int, forKey key: Key) throws { var c = single(key); try c.encode(value) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { var c = single(key); try c.encode(value) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { var c = single(key); try c.encode(value) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { var c = single(key); try c.encode(value) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { var c = single(key); try c.encode(value) }
    mutating func encode(_ value: Int128, forKey key: Key) throws { var c = single(key); try c.encode(value) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { var c = single(key); try c.encode(value) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { var c = single(key); try c.encode(value) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { var c = single(key); try c.encode(value) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { var c = single(key); try c.encode(value) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { var c = single(key); try c.encode(value) }
    mutating func encode(_ value: UInt128, forKey key: Key) throws { var c = single(key); try c.encode(value) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { try field(key).write(value) }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type, forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        field(key).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        field(key).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        field(CanonicalIndexKey(stringValue: "super") ?? CanonicalIndexKey(index: 0))
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder { field(key) }
}

/// The unkeyed container: each item gets the next slot of the array.
struct CanonicalUnkeyedContainer: UnkeyedEncodingContainer {
    let writer: CanonicalWriter
    let array: CanonicalArray

    var codingPath: [any CodingKey] { writer.codingPath }
    var count: Int { array.items.count }

    private func next() -> CanonicalWriter {
        let slot = CanonicalSlot()
        array.items.append(slot)
        return writer.child(slot, key: CanonicalIndexKey(index: array.items.count - 1))
    }

    private func single() -> CanonicalSingleValueContainer { CanonicalSingleValueContainer(writer: next()) }

    mutating func encodeNil() throws { var c = single(); try c.encodeNil() }
    mutating func encode(_ value: Bool) throws { var c = single(); try c.encode(value) }
    mutating func encode(_ value: String) throws { var c = single(); try c.encode(value) }
    mutating func encode(_ value: Double) throws { var c = single(); try c.encode(value) }
    mutating func encode(_ value: Float) throws { var c = single(); try c.encode(value) }
    mutating func encode(_ value: Int) throws { var c = single(); try c.encode(value) }
    mutating func encode(_ value: Int8) throws { var c = single(); try c.encode(value) }
    mutating func encode(_ value: Int16) throws { var c = single(); try c.encode(value) }
    mutating func encode(_ value: Int32) throws { var c = single(); try c.encode(value) }
    mutating func encode(_ value: Int64) throws { var c = single(); try c.encode(value) }
    mutating func encode(_ value: Int128) throws { var c = single(); try c.encode(value) }
    mutating func encode(_ value: UInt) throws { var c = single(); try c.encode(value) }
    mutating func encode(_ value: UInt8) throws { var c = single(); try c.encode(value) }
    mutating func encode(_ value: UInt16) throws { var c = single(); try c.encode(value) }
    mutating func encode(_ value: UInt32) throws { var c = single(); try c.encode(value) }
    mutating func encode(_ value: UInt64) throws { var c = single(); try c.encode(value) }
    mutating func encode(_ value: UInt128) throws { var c = single(); try c.encode(value) }
    mutating func encode<T: Encodable>(_ value: T) throws { try next().write(value) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        next().container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer { next().unkeyedContainer() }

    mutating func superEncoder() -> any Encoder { next() }
}
