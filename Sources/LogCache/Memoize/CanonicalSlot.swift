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
