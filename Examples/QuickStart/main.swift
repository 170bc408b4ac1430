import LogCache

// One directory is one store: created on first use, shared by every process that opens it.
let directory = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "/tmp/quickstart-cache"
let store = try CacheStore(directory: directory, options: Options(capacity: 1 << 30, policy: .s3fifo))

// Bytes under a key, for an hour; a miss or an expired value reads as nil.
try store.set(Array("hello".utf8), forKey: "greeting", ttl: .seconds(3600))
if let value = try store.value(forKey: "greeting") {
    print(String(decoding: value, as: UTF8.self))
}

// A slow call memoized on its whole request: computed once across threads, processes and restarts.
let request = ChatRequest(model: "gpt-4o-mini", messages: [.user("What is 7 squared?")], temperature: 0)
let answer: String = try await store.memoize(namespace: "chat", version: "1", key: request) {
    try await Task.sleep(for: .seconds(1))   // the model's call goes here: it runs only on a miss
    return "49"
}
print(answer, store.statistics.entries, store.memoStatistics(namespace: "chat").hits)
try store.close()
