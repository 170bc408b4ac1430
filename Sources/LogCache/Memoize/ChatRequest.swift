/// An OpenAI-style chat completion request, made to be a memo key: its `Codable` form is the
/// JSON body sent to the service, so the key covers every field that can change the answer,
/// and the transport details (``apiKey``, ``timeout``, ``headers``) are kept outside the body
/// and out of the key.
///
/// ```swift
/// var request = ChatRequest(model: "gpt-4o-mini", messages: [.system("Be brief."), .user(question)],
///                           temperature: 0, seed: 7)
/// request.apiKey = environment["OPENAI_API_KEY"]   // not part of the key
/// let reply = try await store.memoize(namespace: "chat", version: "1", key: request) {
///     try await client.send(request)
/// }
/// ```
///
/// Fields the type does not name (`response_format`, `tool_choice`, `n`, `logit_bias`,
/// `presence_penalty`, a provider's own parameters) go in ``extra``: they are written into the
/// body next to the named ones, so they are part of the key too. Everything in the body
/// counts, even fields that seldom change the answer (`user`, `stream`); pass their names to
/// `memoize(…, excluding:)` to leave them out.
public struct ChatRequest: Sendable, Hashable, Codable {
    /// The model name.
    public var model: String
    /// The conversation so far.
    public var messages: [ChatMessage]
    /// Sampling temperature (`temperature`); nil leaves it to the service.
    public var temperature: Double?
    /// Nucleus sampling mass (`top_p`).
    public var topP: Double?
    /// Most tokens to generate (`max_tokens`).
    public var maxTokens: Int?
    /// Seed for sampling (`seed`).
    public var seed: Int?
    /// Sequences that stop generation (`stop`; a single string is read as a list of one).
    public var stop: [String]?
    /// Tool definitions (`tools`), as the service takes them.
    public var tools: [JSONValue]?
    /// Every other body field, by its name in the body. A name the type already has a
    /// property for is ignored here.
    public var extra: [String: JSONValue]

    /// The API key. Transport only: not in the body, not in the key.
    public var apiKey: String?
    /// How long to wait for the answer. Transport only: not in the body, not in the key.
    public var timeout: Duration?
    /// HTTP headers to send. Transport only: not in the body, not in the key.
    public var headers: [String: String]

    /// A request with the given fields.
    public init(
        model: String, messages: [ChatMessage], temperature: Double? = nil, topP: Double? = nil,
        maxTokens: Int? = nil, seed: Int? = nil, stop: [String]? = nil, tools: [JSONValue]? = nil,
        extra: [String: JSONValue] = [:], apiKey: String? = nil, timeout: Duration? = nil,
        headers: [String: String] = [:]
    ) {
        self.model = model
        self.messages = messages
        self.temperature = temperature
        self.topP = topP
        self.maxTokens = maxTokens
        self.seed = seed
        self.stop = stop
        self.tools = tools
        self.extra = extra
        self.apiKey = apiKey
        self.timeout = timeout
        self.headers = headers
    }

    /// The body field names that have a property.
    static let namedFields: Set<String> = ["model", "messages", "temperature", "top_p", "max_tokens", "seed", "stop", "tools"]

    /// Reads a request body; fields without a property go to ``extra``. The transport
    /// details are not in a body, so they start empty.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: AnyCodingKey.self)
        model = try c.decode(String.self, forKey: AnyCodingKey("model"))
        messages = try c.decode([ChatMessage].self, forKey: AnyCodingKey("messages"))
        temperature = try c.decodeIfPresent(Double.self, forKey: AnyCodingKey("temperature"))
        topP = try c.decodeIfPresent(Double.self, forKey: AnyCodingKey("top_p"))
        maxTokens = try c.decodeIfPresent(Int.self, forKey: AnyCodingKey("max_tokens"))
        seed = try c.decodeIfPresent(Int.self, forKey: AnyCodingKey("seed"))
        if let one = try? c.decodeIfPresent(String.self, forKey: AnyCodingKey("stop")) {
            stop = [one]
        } else {
            stop = try c.decodeIfPresent([String].self, forKey: AnyCodingKey("stop"))
        }
        tools = try c.decodeIfPresent([JSONValue].self, forKey: AnyCodingKey("tools"))
        extra = try c.extraFields(named: Self.namedFields)
        apiKey = nil
        timeout = nil
        headers = [:]
    }

    /// Writes the request body: the named fields that are set, then ``extra``.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyCodingKey.self)
        try c.encodeBody([
            "model": model, "messages": messages, "temperature": temperature, "top_p": topP,
            "max_tokens": maxTokens, "seed": seed, "stop": stop, "tools": tools,
        ], extra: extra, named: Self.namedFields)
    }
}

/// One message of a chat request.
public struct ChatMessage: Sendable, Hashable, Codable {
    /// `system`, `user`, `assistant`, `tool`, or whatever else the service takes.
    public var role: String
    /// The text, or an array of content parts (text, images) as the service takes them.
    public var content: JSONValue?
    /// The participant's name (`name`).
    public var name: String?
    /// Tool calls an assistant message made (`tool_calls`).
    public var toolCalls: [JSONValue]?
    /// The call a tool message answers (`tool_call_id`).
    public var toolCallID: String?
    /// Every other field of the message, by its name in the body.
    public var extra: [String: JSONValue]

    /// A message with the given fields.
    public init(role: String, content: JSONValue?, name: String? = nil, toolCalls: [JSONValue]? = nil,
                toolCallID: String? = nil, extra: [String: JSONValue] = [:]) {
        self.role = role
        self.content = content
        self.name = name
        self.toolCalls = toolCalls
        self.toolCallID = toolCallID
        self.extra = extra
    }

    /// A system message.
    public static func system(_ text: String) -> ChatMessage { ChatMessage(role: "system", content: .string(text)) }
    /// A user message.
    public static func user(_ text: String) -> ChatMessage { ChatMessage(role: "user", content: .string(text)) }
    /// An assistant message.
    public static func assistant(_ text: String) -> ChatMessage { ChatMessage(role: "assistant", content: .string(text)) }
    /// A tool's answer to the call `callID`.
    public static func tool(_ text: String, callID: String) -> ChatMessage {
        ChatMessage(role: "tool", content: .string(text), toolCallID: callID)
    }

    static let namedFields: Set<String> = ["role", "content", "name", "tool_calls", "tool_call_id"]

    /// Reads a message; fields without a property go to ``extra``.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: AnyCodingKey.self)
        role = try c.decode(String.self, forKey: AnyCodingKey("role"))
        content = try c.decodeIfPresent(JSONValue.self, forKey: AnyCodingKey("content"))
        name = try c.decodeIfPresent(String.self, forKey: AnyCodingKey("name"))
        toolCalls = try c.decodeIfPresent([JSONValue].self, forKey: AnyCodingKey("tool_calls"))
        toolCallID = try c.decodeIfPresent(String.self, forKey: AnyCodingKey("tool_call_id"))
        extra = try c.extraFields(named: Self.namedFields)
    }

    /// Writes the message as the body has it.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyCodingKey.self)
        try c.encodeBody([
            "role": role, "content": content, "name": name, "tool_calls": toolCalls, "tool_call_id": toolCallID,
        ], extra: extra, named: Self.namedFields)
    }
}

extension KeyedEncodingContainer where Key == AnyCodingKey {
    /// Writes a body: each named field that is set, in order, then the fields of `extra`
    /// that no property names.
    fileprivate mutating func encodeBody(
        _ fields: KeyValuePairs<String, (any Encodable)?>, extra: [String: JSONValue], named: Set<String>
    ) throws {
        for (name, value) in fields {
            if let value { try encode(value, forKey: AnyCodingKey(name)) }
        }
        for (name, value) in extra where !named.contains(name) {
            try encode(value, forKey: AnyCodingKey(name))
        }
    }
}

extension KeyedDecodingContainer where Key == AnyCodingKey {
    /// The fields of a body that no property names, by name.
    fileprivate func extraFields(named: Set<String>) throws -> [String: JSONValue] {
        var extra: [String: JSONValue] = [:]
        for key in allKeys where !named.contains(key.stringValue) {
            extra[key.stringValue] = try decode(JSONValue.self, forKey: key)
        }
        return extra
    }
}
