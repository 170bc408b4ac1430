/// A value as the canonical encoding sees it: JSON's data model, with numbers already in
/// their one canonical text and object members keyed by their UTF-8 bytes.
///
/// Keying members by bytes rather than by `String` matters: Swift compares strings by
/// canonical equivalence, so two field names that differ only in Unicode normalization would
/// merge in a `[String: …]` dictionary although they are different bytes on the wire.
indirect enum CanonicalValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// The canonical text of a number (see ``CanonicalNumber``).
    case number(String)
    case string(String)
    case array([CanonicalValue])
    case object([[UInt8]: CanonicalValue])

    /// The canonical bytes: JSON text with no whitespace, object members sorted by the bytes
    /// of their names, strings escaped only where JSON requires it.
    var bytes: [UInt8] {
        var out: [UInt8] = []
        write(into: &out)
        return out
    }

    /// Appends the canonical bytes to `out`.
    func write(into out: inout [UInt8]) {
        switch self {
        case .null:
            out += Array("null".utf8)
        case .bool(let b):
            out += Array((b ? "true" : "false").utf8)
        case .number(let text):
            out += Array(text.utf8)
        case .string(let s):
            Self.writeString(Array(s.utf8), into: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                item.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (i, name) in members.keys.sorted(by: { $0.lexicographicallyPrecedes($1) }).enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                Self.writeString(name, into: &out)
                out.append(UInt8(ascii: ":"))
                members[name]?.write(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// A JSON string literal of UTF-8 bytes: `"` and `\` escaped with a backslash, control
    /// characters as `\u00xx` (lowercase hex), every other byte as it is.
    static func writeString(_ utf8: [UInt8], into out: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        out.append(UInt8(ascii: "\""))
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                out.append(UInt8(ascii: "\\"))
                out.append(byte)
            case 0..<0x20:
                out += Array("\\u00".utf8)
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            default:
                out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
