import Foundation
import Testing
@testable import LogCache

/// The engine's JSON parser against Foundation's JSONDecoder: the same values (as the
/// canonical encoding sees them) for every text both accept, and refusals that name the problem.
@Suite("JSON parser")
struct JSONParserTests {
    static func parse(_ text: String) throws -> JSONValue {
        try Array(text.utf8).withUnsafeBytes { try JSONValue(json: $0) }
    }

    static func canonical(_ v: JSONValue) throws -> String { try CanonicalEncoder().text(v) }

    /// Random JSON text with whitespace, escapes, unicode, and numbers of every spelling.
    static func randomText(_ g: inout SeededGenerator, depth: Int = 0) -> String {
        let pick = depth > 4 ? g.next() % 6 : g.next() % 8
        let space = [" ", "", "\n", "\t "][Int(g.next() % 4)]
        switch pick {
        case 0: return "null"
        case 1: return g.next() % 2 == 0 ? "true" : "false"
        case 2:
            let numbers = ["0", "-0", "1", "-17", "9223372036854775807", "-9223372036854775808", "9223372036854775808",
                           "18446744073709551616", "1.0", "0.1", "-2.5e-3", "1E10", "6.02214076e23", "1e300", "123456789012345678901234567890",
                           "\(Int64(bitPattern: g.next()))", "\(Double(bitPattern: g.next() & 0x7FEF_FFFF_FFFF_FFFF))"]
            return numbers[Int(g.next() % UInt64(numbers.count))]
        case 3, 4:
            let pieces = ["a", "é", "日本", "\\n", "\\\"", "\\\\", "\\/", "\\u00e9", "\\ud83d\\ude00", "😀", " ", "\\t", "\\u0001", "x"]
            return "\"" + (0..<Int(g.next() % 5)).map { _ in pieces[Int(g.next() % UInt64(pieces.count))] }.joined() + "\""
        case 5, 6:
            let items = (0..<Int(g.next() % 4)).map { _ in randomText(&g, depth: depth + 1) }
            return "[" + space + items.joined(separator: "," + space) + space + "]"
        default:
            let items = (0..<Int(g.next() % 4)).map { k in "\"k\(k)\(g.next() % 3)\"" + space + ":" + space + randomText(&g, depth: depth + 1) }
            return "{" + space + items.joined(separator: ",") + "}"
        }
    }

    @Test("Every random text parses to what JSONDecoder makes of it")
    func matchesJSONDecoder() throws {
        var g = SeededGenerator(seed: 21)
        var compared = 0
        for _ in 0..<3000 {
            let text = Self.randomText(&g)
            guard let reference = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) else { continue }
            let ours = try Self.parse(text)
            #expect(try Self.canonical(ours) == Self.canonical(reference), "\(text)")
            compared += 1
        }
        #expect(compared > 2500)
    }

    @Test("Integers that fit 64 bits stay integers; the rest are doubles")
    func numbers() throws {
        #expect(try Self.parse("9223372036854775807") == .integer(.max))
        #expect(try Self.parse("-9223372036854775808") == .integer(.min))
        #expect(try Self.parse("9223372036854775808") == .number(9223372036854775808.0))
        #expect(try Self.parse("1.5") == .number(1.5))
        #expect(try Self.parse(" [1e2, -0] ") == .array([.number(100), .integer(0)]))
        #expect(try Self.parse(#""\ud83d\ude00 \u00e9""#) == .string("😀 é"))
    }

    @Test("Bad text is refused with the problem and its place", arguments: [
        ("", "end of the text"), ("{", "string name"), ("[1,]", "unexpected byte"), ("01", "leading zero"),
        ("1.", "after its point"), ("1e", "exponent"), ("\"a", "unterminated"), ("\"\u{01}\"", "control character"),
        ("\"\\x\"", "unknown escape"), ("\"\\ud800\"", "high surrogate"), ("\"\\udc00\"", "low surrogate"),
        ("nul", "literal"), ("[1] 2", "text after"), ("1e400", "no Double"), ("{\"a\" 1}", ":"),
    ])
    func refusals(text: String, problem: String) {
        do {
            _ = try Self.parse(text)
            Issue.record("\(text) parsed")
        } catch {
            #expect("\(error)".contains(problem), "\(text): \(error)")
        }
    }

    @Test("Invalid UTF-8 and hostile nesting are refused, not trapped on")
    func hostile() throws {
        let bad: [UInt8] = [0x22, 0xC3, 0x28, 0x22]
        #expect(throws: CacheError.self) { try bad.withUnsafeBytes { try JSONValue(json: $0) } }
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: CacheError.self) { try Self.parse(deep) }
        let ok = String(repeating: "[", count: 500) + String(repeating: "]", count: 500)
        #expect(try Self.parse(ok) != .null)
    }
}
