/// A collection whose iteration order is not part of its value (`Dictionary`, `Set`): its
/// standard `Encodable` conformance writes it in iteration order, which differs between
/// processes, so the canonical encoding sorts it instead.
protocol CanonicalUnordered {
    /// The canonical value of the collection.
    func canonicalValue(codingPath: [any CodingKey], excluded: Set<String>) throws -> CanonicalValue
}

/// The canonical value of one nested value.
private func canonical<T: Encodable>(_ value: T, at path: [any CodingKey], excluded: Set<String>) throws -> CanonicalValue {
    let slot = CanonicalSlot()
    try CanonicalWriter(codingPath: path, slot: slot, excluded: excluded).write(value)
    return slot.resolved
}

extension Dictionary: CanonicalUnordered where Key: Encodable, Value: Encodable {
    /// An object when every key encodes as a string or a number (as `JSONEncoder` writes
    /// `[String: V]` and `[Int: V]`) and no two keys give the same name; otherwise an array
    /// of `[key, value]` pairs sorted by the key's canonical bytes.
    func canonicalValue(codingPath: [any CodingKey], excluded: Set<String>) throws -> CanonicalValue {
        var pairs: [(key: CanonicalValue, name: [UInt8]?, value: Key, index: Int)] = []
        pairs.reserveCapacity(count)
        for (i, (key, _)) in enumerated() {
            let k = try canonical(key, at: codingPath + [CanonicalIndexKey(index: i)], excluded: excluded)
            let name: [UInt8]? = switch k {
            case .string(let s): Array(s.utf8)
            case .number(let n): Array(n.utf8)
            default: nil
            }
            pairs.append((k, name, key, i))
        }
        let names = pairs.compactMap(\.name)
        if names.count == pairs.count && Set(names).count == names.count {
            var members: [[UInt8]: CanonicalValue] = [:]
            for pair in pairs {
                guard let name = pair.name else { continue }
                let text = String(decoding: name, as: UTF8.self)
                if excluded.contains(text) { continue }
                guard let value = self[pair.value] else { continue }
                let path = codingPath + [CanonicalIndexKey(stringValue: text) ?? CanonicalIndexKey(index: pair.index)]
                members[name] = try canonical(value, at: path, excluded: excluded)
            }
            return .object(members)
        }
        var entries: [(key: [UInt8], value: [UInt8], pair: CanonicalValue)] = []
        for pair in pairs {
            guard let value = self[pair.value] else { continue }
            let v = try canonical(value, at: codingPath + [CanonicalIndexKey(index: pair.index)], excluded: excluded)
            entries.append((pair.key.bytes, v.bytes, .array([pair.key, v])))
        }
        entries.sort { $0.key == $1.key ? $0.value.lexicographicallyPrecedes($1.value) : $0.key.lexicographicallyPrecedes($1.key) }
        return .array(entries.map(\.pair))
    }
}

extension Set: CanonicalUnordered where Element: Encodable {
    /// An array of the elements sorted by their canonical bytes.
    func canonicalValue(codingPath: [any CodingKey], excluded: Set<String>) throws -> CanonicalValue {
        var items: [(bytes: [UInt8], value: CanonicalValue)] = []
        items.reserveCapacity(count)
        for (i, element) in enumerated() {
            let v = try canonical(element, at: codingPath + [CanonicalIndexKey(index: i)], excluded: excluded)
            items.append((v.bytes, v))
        }
        items.sort { $0.bytes.lexicographicallyPrecedes($1.bytes) }
        return .array(items.map(\.value))
    }
}
