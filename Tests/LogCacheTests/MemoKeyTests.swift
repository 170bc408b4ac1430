import Foundation
import Testing
@testable import LogCache

@Suite("Memo keys: stable across orders and processes, different for every change that matters")
struct MemoKeyTests {
    /// A request with every kind of field set.
    static let base = ChatRequest(
        model: "gpt-4o-mini", messages: [.system("Answer in one word."), .user("Capital of France?")],
        temperature: 0, maxTokens: 16, seed: 7, stop: ["END"],
        tools: [["type": "function", "function": ["name": "lookup", "parameters": ["type": "object", "properties": [:]]]]],
        extra: ["response_format": ["type": "text"], "n": 1],
        apiKey: "sk-first", timeout: .seconds(30), headers: ["X-Trace": "1"])

    static func key(_ request: ChatRequest, namespace: String = "chat", version: String = "1") throws -> MemoKey {
        try MemoKey(namespace: namespace, version: version, request: request)
    }

    @Test("A chat request's key is the SHA-256 of its body as an independent JSON encoder sorts it")
    func goldenChatKey() throws {
        // Python: json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        let body = #"{"max_tokens":16,"messages":[{"content":"Answer in one word.","role":"system"},{"content":"Capital of France?","role":"user"}],"model":"gpt-4o-mini","n":1,"response_format":{"type":"text"},"seed":7,"stop":["END"],"temperature":0,"tools":[{"function":{"name":"lookup","parameters":{"properties":{},"type":"object"}},"type":"function"}]}"#
        #expect(try CanonicalEncoder().text(Self.base) == body)
        let key = try Self.key(Self.base)
        #expect(key.hash == "031bd89f90c76ad6cabc0a3a8baa630923df874cfc731202b8ad5af1a4126fbb")
        #expect(key.storeKey == "memo/chat/1/031bd89f90c76ad6cabc0a3a8baa630923df874cfc731202b8ad5af1a4126fbb")
        #expect(MemoKey(storeKey: key.storeKey) == key)
    }

    @Test("Every field that changes the answer changes the key, each to a different one")
    func everyFieldCounts() throws {
        let changes: [(String, (inout ChatRequest) -> Void)] = [
            ("model", { $0.model = "gpt-4o" }),
            ("message text", { $0.messages[1] = .user("Capital of Spain?") }),
            ("message role", { $0.messages[0].role = "developer" }),
            ("message name", { $0.messages[1].name = "alice" }),
            ("message extra", { $0.messages[1].extra["cache_control"] = ["type": "ephemeral"] }),
            ("message order", { $0.messages.reverse() }),
            ("one more message", { $0.messages.append(.assistant("Paris")) }),
            ("temperature", { $0.temperature = 0.7 }),
            ("temperature unset", { $0.temperature = nil }),
            ("top_p", { $0.topP = 0.9 }),
            ("max_tokens", { $0.maxTokens = 17 }),
            ("seed", { $0.seed = 8 }),
            ("stop", { $0.stop = ["END", "STOP"] }),
            ("no stop", { $0.stop = nil }),
            ("tool name", { $0.tools = [["type": "function", "function": ["name": "search"]]] }),
            ("no tools", { $0.tools = nil }),
            ("extra field", { $0.extra["presence_penalty"] = 0.5 }),
            ("extra nested", { $0.extra["response_format"] = ["type": "json_object"] }),
            ("extra removed", { $0.extra["n"] = nil }),
        ]
        let baseKey = try Self.key(Self.base)
        var seen: [MemoKey: String] = [baseKey: "base"]
        for (label, change) in changes {
            var request = Self.base
            change(&request)
            let key = try Self.key(request)
            #expect(key != baseKey, "changing \(label) kept the key")
            if let other = seen[key] { Issue.record("\(label) and \(other) gave the same key") }
            seen[key] = label
        }
        #expect(try Self.key(Self.base, namespace: "chat2") != baseKey)
        #expect(try Self.key(Self.base, version: "2") != baseKey)
        #expect(try Self.key(Self.base, version: "2").hash == baseKey.hash)
    }

    @Test("Transport details (API key, timeout, headers) do not change the key")
    func transportIgnored() throws {
        var request = Self.base
        request.apiKey = "sk-second"
        request.timeout = .seconds(600)
        request.headers = ["Authorization": "Bearer x", "X-Request-ID": UUID().uuidString]
        #expect(try Self.key(request) == Self.key(Self.base))
        // They are not in the body either.
        let body = try JSONEncoder().encode(request)
        let text = String(decoding: body, as: UTF8.self)
        #expect(!text.contains("sk-second") && !text.contains("Bearer") && !text.contains("600"))
    }

    @Test("A body decoded from JSON in another field order gives the key of the request built in code")
    func decodedBody() throws {
        let json = #"""
        {"n": 1, "tools": [{"type": "function", "function": {"parameters": {"properties": {}, "type": "object"}, "name": "lookup"}}],
         "stop": "END", "seed": 7, "temperature": 0.0, "max_tokens": 16,
         "response_format": {"type": "text"},
         "messages": [{"content": "Answer in one word.", "role": "system"}, {"role": "user", "content": "Capital of France?"}],
         "model": "gpt-4o-mini"}
        """#
        let decoded = try JSONDecoder().decode(ChatRequest.self, from: Data(json.utf8))
        #expect(decoded.stop == ["END"])
        #expect(decoded.extra.keys.sorted() == ["n", "response_format"])
        #expect(try Self.key(decoded) == Self.key(Self.base))
        // Round trip through the body.
        let again = try JSONDecoder().decode(ChatRequest.self, from: JSONEncoder().encode(decoded))
        #expect(again == decoded)
    }

    @Test("Another process computes the same key for the same request and for the same set")
    func childProcess() throws {
        // Swift seeds its hashing randomly per process, so the child's dictionaries and sets
        // iterate in another order than this process's.
        let body = try JSONEncoder().encode(Self.base)
        let child = try run(productPath("logcache-worker"), ["key", "chat", "1", "chat"], input: [UInt8](body))
        #expect(child.status == 0, "\(child.stderr)")
        #expect(child.text.trimmingCharacters(in: .whitespacesAndNewlines) == (try Self.key(Self.base).storeKey))

        let words = (0..<100).map { "word\($0)" }
        let childSet = try run(productPath("logcache-worker"), ["key", "sets", "3", "set"],
                               input: [UInt8](try JSONEncoder().encode(words.reversed() as [String])))
        let here = try MemoKey(namespace: "sets", version: "3", request: Set(words))
        #expect(childSet.text.trimmingCharacters(in: .whitespacesAndNewlines) == here.storeKey)
    }

    @Test("Excluded fields are left out of the key")
    func excludedFields() throws {
        var a = Self.base, b = Self.base
        a.extra["user"] = "customer-1"
        b.extra["user"] = "customer-2"
        #expect(try MemoKey(namespace: "chat", version: "1", request: a)
                != MemoKey(namespace: "chat", version: "1", request: b))
        #expect(try MemoKey(namespace: "chat", version: "1", request: a, excluding: ["user"])
                == MemoKey(namespace: "chat", version: "1", request: b, excluding: ["user"]))
        #expect(try MemoKey(namespace: "chat", version: "1", request: a, excluding: ["user"])
                == MemoKey(namespace: "chat", version: "1", request: Self.base))
    }

    @Test("Namespaces and versions that cannot be part of a key are refused with the reason")
    func invalidNames() throws {
        #expect(throws: MemoError.invalidNamespace("a/b", reason: "it contains \"/\", which separates the parts of a memo key")) {
            try MemoKey(namespace: "a/b", version: "1", request: 1)
        }
        #expect(throws: MemoError.invalidNamespace("", reason: "it is empty")) { try MemoKey(namespace: "", version: "1", request: 1) }
        #expect(throws: MemoError.invalidVersion("v\n1", reason: "it contains a control character")) {
            try MemoKey(namespace: "n", version: "v\n1", request: 1)
        }
        #expect(throws: MemoError.self) { try MemoKey(namespace: String(repeating: "x", count: 201), version: "1", request: 1) }
        #expect(MemoKey(storeKey: "memo/chat/1/abc") == nil)
        #expect(MemoKey(storeKey: "other/chat/1/" + String(repeating: "0", count: 64)) == nil)
        #expect(MemoKey(storeKey: "memo/chat/1/" + String(repeating: "0", count: 64))?.namespace == "chat")
        #expect(try MemoKey.prefix(namespace: "chat") == "memo/chat/")
        #expect(try MemoKey.prefix(namespace: "chat", version: "2") == "memo/chat/2/")
    }
}
