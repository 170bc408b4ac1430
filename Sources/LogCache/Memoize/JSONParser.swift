/// Parses JSON text (RFC 8259) into a ``JSONValue`` in one pass over its bytes.
///
/// It makes what decoding with `JSONDecoder` makes of the same text, without trying each
/// kind of value in turn behind a thrown error per miss: keying a request by its whole body
/// (the proxy, the C interface's memo key) parses on every request. A number without a
/// fraction or exponent that fits `Int64` is ``JSONValue/integer(_:)``, any other number
/// ``JSONValue/number(_:)``; a number too large for a `Double` is refused, as are control
/// characters in strings, invalid UTF-8, lone surrogates, text after the value, and nesting
/// deeper than ``maxDepth`` (a hostile body must not exhaust the stack).
struct JSONParser {
    /// Arrays and objects nested deeper than this are refused.
    static let maxDepth = 512

    /// What is wrong with the text, and at which byte.
    struct Failure: Error, CustomStringConvertible {
        let offset: Int
        let what: String
        var description: String { "\(what) at byte \(offset)" }
    }

    private let bytes: UnsafeRawBufferPointer
    private var i = 0

    /// The value `text` holds.
    static func parse(_ text: UnsafeRawBufferPointer) throws(Failure) -> JSONValue {
        var p = JSONParser(bytes: text)
        p.skipSpace()
        let value = try p.value(depth: 0)
        p.skipSpace()
        guard p.i == text.count else { throw p.fail("text after the value") }
        return value
    }

    private init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    private func fail(_ what: String) -> Failure { Failure(offset: i, what: what) }

    private var current: UInt8? { i < bytes.count ? bytes[i] : nil }

    private mutating func skipSpace() {
        while i < bytes.count {
            switch bytes[i] {
            case 0x20, 0x09, 0x0A, 0x0D: i += 1
            default: return
            }
        }
    }

    private mutating func literal(_ word: StaticString, _ value: JSONValue) throws(Failure) -> JSONValue {
        let n = word.utf8CodeUnitCount
        guard bytes.count - i >= n else { throw fail("a truncated literal") }
        for k in 0..<n where bytes[i + k] != word.utf8Start[k] { throw fail("an unknown literal") }
        i += n
        return value
    }

    private mutating func value(depth: Int) throws(Failure) -> JSONValue {
        guard let c = current else { throw fail("the end of the text where a value was expected") }
        switch c {
        case UInt8(ascii: "{"): return try object(depth: depth + 1)
        case UInt8(ascii: "["): return try array(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw fail("an unexpected byte \(c)")
        }
    }

    private mutating func array(depth: Int) throws(Failure) -> JSONValue {
        guard depth <= Self.maxDepth else { throw fail("nesting deeper than \(Self.maxDepth)") }
        i += 1
        var items: [JSONValue] = []
        skipSpace()
        if current == UInt8(ascii: "]") { i += 1; return .array(items) }
        while true {
            skipSpace()
            items.append(try value(depth: depth))
            skipSpace()
            switch current {
            case UInt8(ascii: ","): i += 1
            case UInt8(ascii: "]"): i += 1; return .array(items)
            default: throw fail("an array without , or ]")
            }
        }
    }

    private mutating func object(depth: Int) throws(Failure) -> JSONValue {
        guard depth <= Self.maxDepth else { throw fail("nesting deeper than \(Self.maxDepth)") }
        i += 1
        var members: [String: JSONValue] = [:]
        skipSpace()
        if current == UInt8(ascii: "}") { i += 1; return .object(members) }
        while true {
            skipSpace()
            guard current == UInt8(ascii: "\"") else { throw fail("an object member without a string name") }
            let name = try string()
            skipSpace()
            guard current == UInt8(ascii: ":") else { throw fail("an object member without :") }
            i += 1
            skipSpace()
            members[name] = try value(depth: depth)
            skipSpace()
            switch current {
            case UInt8(ascii: ","): i += 1
            case UInt8(ascii: "}"): i += 1; return .object(members)
            default: throw fail("an object without , or }")
            }
        }
    }

    private mutating func hex4() throws(Failure) -> UInt32 {
        guard bytes.count - i >= 4 else { throw fail("a truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[i]
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw fail("a \\u escape with a byte that is not hex")
            }
            v = v << 4 | d
            i += 1
        }
        return v
    }

    private mutating func string() throws(Failure) -> String {
        i += 1
        let start = i
        // The common case: no escape, copied as it is once validated.
        while i < bytes.count, bytes[i] != UInt8(ascii: "\""), bytes[i] != UInt8(ascii: "\\"), bytes[i] >= 0x20 { i += 1 }
        if current == UInt8(ascii: "\"") {
            let run = UnsafeRawBufferPointer(rebasing: bytes[start..<i])
            i += 1
            guard let s = String(validating: run, as: UTF8.self) else { throw fail("invalid UTF-8 in a string") }
            return s
        }
        var out = [UInt8](UnsafeRawBufferPointer(rebasing: bytes[start..<i]))
        while true {
            guard let c = current else { throw fail("an unterminated string") }
            switch c {
            case UInt8(ascii: "\""):
                i += 1
                guard let s = String(validating: out, as: UTF8.self) else { throw fail("invalid UTF-8 in a string") }
                return s
            case UInt8(ascii: "\\"):
                i += 1
                guard let e = current else { throw fail("an unterminated escape") }
                i += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800...0xDBFF).contains(scalar) {
                        guard bytes.count - i >= 6, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
                            throw fail("a high surrogate without its low one")
                        }
                        i += 2
                        let low = try hex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw fail("a high surrogate without its low one") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(scalar) {
                        throw fail("a low surrogate without its high one")
                    }
                    guard let u = Unicode.Scalar(scalar) else { throw fail("an escape of no Unicode scalar") }
                    out.append(contentsOf: String(Character(u)).utf8)
                default:
                    throw fail("an unknown escape \\\(Character(Unicode.Scalar(e)))")
                }
            case 0..<0x20:
                throw fail("a control character in a string")
            default:
                out.append(c)
                i += 1
            }
        }
    }

    private mutating func digits() -> Int {
        let start = i
        while i < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[i]) { i += 1 }
        return i - start
    }

    private mutating func number() throws(Failure) -> JSONValue {
        let start = i
        if current == UInt8(ascii: "-") { i += 1 }
        guard let first = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else { throw fail("a number without digits") }
        if first == UInt8(ascii: "0") {
            i += 1
            if let next = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(next) { throw fail("a number with a leading zero") }
        } else {
            _ = digits()
        }
        var integral = true
        if current == UInt8(ascii: ".") {
            i += 1
            guard digits() > 0 else { throw fail("a number without digits after its point") }
            integral = false
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            i += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { i += 1 }
            guard digits() > 0 else { throw fail("a number without digits in its exponent") }
            integral = false
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
        if integral, let n = Int64(text) { return .integer(n) }
        guard let d = Double(text), d.isFinite else { throw Failure(offset: start, what: "the number \(text), which no Double holds") }
        return .number(d)
    }
}
