import Foundation
import Testing
@testable import LogCache

@Suite("Canonical encoding of Encodable values")
struct CanonicalEncoderTests {
    struct Sample: Encodable {
        var name: String
        var tags: [String]
        var weights: [String: Int]
        var nested: [String: JSONValue]
        var flag: Bool
    }

    @Test("Sorted members, no whitespace, exact strings: the text and its SHA-256 match an independent JSON encoder's")
    func goldenText() throws {
        let sample = Sample(name: "naïve \"quoted\" \\ text", tags: ["b", "a"],
                            weights: ["gamma": 300, "alpha": 1, "beta": -20],
                            nested: ["note": nil, "depth": 2], flag: true)
        // Python: json.dumps(o, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        let expected = #"{"flag":true,"name":"naïve \"quoted\" \\ text","nested":{"depth":2,"note":null},"tags":["b","a"],"weights":{"alpha":1,"beta":-20,"gamma":300}}"#
        #expect(try CanonicalEncoder().text(sample) == expected)
        #expect(SHA256.hex(SHA256.hash(try CanonicalEncoder().encode(sample)))
                == "16582a2992177a681dae0a1c3c5a7d581c8288f19a1f7b0f967bfc21480269c1")
    }

    @Test("A dictionary gives the same bytes whatever its insertion order and capacity")
    func dictionaryOrder() throws {
        let names = (0..<300).map { "field-\($0)" }
        var forward: [String: Int] = [:]
        for (i, n) in names.enumerated() { forward[n] = i }
        var backward: [String: Int] = [:]
        backward.reserveCapacity(5000)
        for (i, n) in names.enumerated().reversed() { backward[n] = i }
        #expect(forward == backward)
        // The two iterate in different orders, so a plain encoder would write different text.
        #expect(Array(forward.keys) != Array(backward.keys))
        let encoder = CanonicalEncoder()
        #expect(try encoder.encode(forward) == encoder.encode(backward))
        let nested = ["outer": forward], nestedBackward = ["outer": backward]
        #expect(try encoder.encode(nested) == encoder.encode(nestedBackward))
        #expect(try encoder.text(["b": 1, "a": 2, "c": 3]) == #"{"a":2,"b":1,"c":3}"#)
    }

    @Test("A set is written sorted, whatever its order; an array keeps its order")
    func sets() throws {
        let words = (0..<200).map { "w\($0 * 7919 % 1000)" }
        var small = Set<String>()
        for w in words { small.insert(w) }
        var large = Set<String>(minimumCapacity: 4096)
        for w in words.reversed() { large.insert(w) }
        #expect(Array(small) != Array(large))
        let encoder = CanonicalEncoder()
        #expect(try encoder.encode(small) == encoder.encode(large))
        #expect(try encoder.text(Set([3, 1, 2])) == "[1,2,3]")
        #expect(try encoder.text(["b", "a"]) != encoder.text(["a", "b"]))
    }

    struct Point: Hashable, Codable {
        var x: Int
        var y: Int
    }

    @Test("A dictionary with structured keys becomes sorted [key, value] pairs; integer keys become names")
    func structuredKeys() throws {
        var a: [Point: String] = [:], b: [Point: String] = [:]
        let points = (0..<50).map { Point(x: $0 % 7, y: $0) }
        for p in points { a[p] = "v\(p.y)" }
        for p in points.reversed() { b[p] = "v\(p.y)" }
        let encoder = CanonicalEncoder()
        #expect(try encoder.encode(a) == encoder.encode(b))
        #expect(try encoder.text([Point(x: 2, y: 0): "second", Point(x: 1, y: 5): "first"])
                == #"[[{"x":1,"y":5},"first"],[{"x":2,"y":0},"second"]]"#)
        #expect(try encoder.text([10: "ten", 9: "nine"]) == #"{"10":"ten","9":"nine"}"#)
    }

    @Test("Numbers have one text whatever their type", arguments: [
        (canonicalText(Int8(5)), "5"), (canonicalText(UInt64(5)), "5"), (canonicalText(5.0), "5"),
        (canonicalText(Float(5)), "5"), (canonicalText(-0.0), "0"), (canonicalText(-12), "-12"),
        (canonicalText(0.1), "1e-1"), (canonicalText(Float(0.1)), "1e-1"), (canonicalText(1.5), "1.5e0"),
        (canonicalText(-123.456), "-1.23456e2"), (canonicalText(1e-7), "1e-7"), (canonicalText(1e300), "1e300"),
        (canonicalText(2.5e-300), "2.5e-300"), (canonicalText(9_007_199_254_740_993.0), "9007199254740992"),
        (canonicalText(Int64.min), "-9223372036854775808"), (canonicalText(UInt64.max), "18446744073709551615"),
        (canonicalText(Decimal(string: "1.50")), "1.5e0"), (canonicalText(Decimal(string: "42")), "42"),
        (canonicalText(Decimal(string: "-0.001")), "-1e-3"),
    ])
    func numbers(text: String?, expected: String) {
        #expect(text == expected)
    }

    @Test("NaN and infinities are refused, naming the field")
    func nonFinite() {
        struct Params: Encodable { var inner: [String: [Double]] }
        #expect(throws: MemoError.self) { try CanonicalEncoder().encode(Double.nan) }
        do {
            _ = try CanonicalEncoder().encode(Params(inner: ["weights": [1, .infinity]]))
            Issue.record("an infinite number was encoded")
        } catch {
            guard case .unencodableKey(let path, let reason) = error else { Issue.record("\(error)"); return }
            #expect(path == "inner.weights[1]")
            #expect(reason.contains("not a finite number"))
            #expect(error.description.contains("inner.weights[1]"))
        }
    }

    @Test("Strings keep their exact bytes; control characters are escaped")
    func strings() throws {
        let encoder = CanonicalEncoder()
        #expect(try encoder.text("tab\tnew\nnul\u{0}") == #""tab\u0009new\u000anul\u0000""#)
        // "é" precomposed and decomposed are equal Swift strings but different bytes on the wire.
        let composed = "caf\u{E9}", decomposed = "cafe\u{301}"
        #expect(composed == decomposed)
        #expect(try encoder.encode(composed) != encoder.encode(decomposed))
        // Members whose names differ only in normalization stay two members.
        struct Two: Encodable {
            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: AnyCodingKey.self)
                try c.encode(1, forKey: AnyCodingKey("caf\u{E9}"))
                try c.encode(2, forKey: AnyCodingKey("cafe\u{301}"))
            }
        }
        #expect(try encoder.text(Two()) == "{\"cafe\u{301}\":2,\"caf\u{E9}\":1}")
    }

    struct Job: Encodable {
        var query: String
        var limit: Int
        var logger: Logger
        var options: [String: String]
    }

    struct Logger: Encodable {
        var label: String
        var startedAt: Double
    }

    @Test("Excluded fields are left out at any depth, dictionary keys included; nil differs from a value")
    func exclusions() throws {
        let a = Job(query: "swift", limit: 10, logger: Logger(label: "a", startedAt: 1),
                    options: ["region": "eu", "traceID": "123"])
        var b = a
        b.logger = Logger(label: "b", startedAt: 2)
        b.options["traceID"] = "456"
        let plain = CanonicalEncoder()
        let excluding = CanonicalEncoder(excluding: ["logger", "traceID"])
        #expect(try plain.encode(a) != plain.encode(b))
        #expect(try excluding.encode(a) == excluding.encode(b))
        #expect(try excluding.text(a) == #"{"limit":10,"options":{"region":"eu"},"query":"swift"}"#)
        var c = a
        c.limit = 11
        #expect(try excluding.encode(a) != excluding.encode(c))

        struct Optional1: Encodable { var x: Int? }
        #expect(try plain.text(Optional1(x: nil)) == "{}")
        #expect(try plain.text(Optional1(x: 0)) == #"{"x":0}"#)
    }
}

/// The canonical text of `value`, nil when it has none.
private func canonicalText<T: Encodable>(_ value: T) -> String? { try? CanonicalEncoder().text(value) }

@Suite("Canonical encoding of JSONValue trees")
struct CanonicalJSONValueTests {
    @Test("A JSONValue tree has the canonical text of the same JSON: numbers, escapes, exclusions at any depth")
    func jsonValueText() throws {
        let value: JSONValue = [
            "b": [1, 1.0, 0.1, -0.0, 1e300, .integer(.max), -5, [["secret": 1, "k": "v"]]],
            "a": ["z": nil, "y": true, "secret": "x"],
            "s": "q\"\\\n\u{01}é",
        ]
        let expected = #"{"a":{"y":true,"z":null},"b":[1,1,1e-1,0,1e300,9223372036854775807,-5,[{"k":"v"}]],"s":"q\"\\\u000a\u0001é"}"#
        #expect(try CanonicalEncoder(excluding: ["secret"]).text(value) == expected)
        // Inside a Codable request, the same tree gives the same text.
        struct Wrapper: Encodable { var body: JSONValue }
        #expect(try CanonicalEncoder(excluding: ["secret"]).text(Wrapper(body: value)) == #"{"body":"# + expected + "}")
        // The key of the JSON value is the key of the Codable request with the same JSON.
        struct Request: Encodable { var model: String; var temperature: Double; var tags: [String]; var extra: JSONValue }
        let request = Request(model: "m", temperature: 0.5, tags: ["a"], extra: ["secret": 1, "n": 2])
        let json: JSONValue = ["model": "m", "temperature": 0.5, "tags": ["a"], "extra": ["n": 2, "secret": 1]]
        #expect(try MemoKey(namespace: "n", version: "1", json: json, excluding: ["secret"])
                == MemoKey(namespace: "n", version: "1", request: request, excluding: ["secret"]))
        #expect(throws: MemoError.self) { try MemoKey(namespace: "n", version: "1", json: .number(.nan)) }
        #expect(throws: MemoError.self) { try CanonicalEncoder().encode(JSONValue.array([.number(.nan)])) }
        #expect(throws: MemoError.self) { try CanonicalEncoder().encode(JSONValue.object(["x": .number(.infinity)])) }
    }
}
