// The main job LogCache is for: a batch of slow, costly calls (a sleep stands in for a
// model's answer) memoized on disk with `memoize`, so that a second run of the same batch
// costs nothing. Run it twice on one store directory (tools/demo does).
import Dispatch
import Foundation
import LogCache

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    FileHandle.standardError.write(Data("usage: logcache-demo STORE_DIR [LABEL]\n".utf8))
    exit(2)
}
let label = arguments.count > 2 ? arguments[2] : "run"

/// A stand-in for a model: 150 ms of "thinking", then an answer that depends only on the request.
func slowModel(_ request: ChatRequest) async throws -> String {
    try await Task.sleep(for: .milliseconds(150))
    guard case .string(let question)? = request.messages.last?.content else { return "" }
    return "answer to \"\(question)\" from \(request.model)"
}

/// The batch: 20 questions, 4 of them asked twice in a row with other transport details (API
/// key, headers), which do not change the answer and so share its cache entry: a repeat that
/// comes while the first call is still running waits for it instead of calling again.
let batch: [ChatRequest] = (1...20).flatMap { i in
    let request = ChatRequest(model: "demo-model", messages: [.system("Answer briefly."), .user("What is \(i) squared?")],
                              temperature: 0, maxTokens: 32, seed: 1, apiKey: "key-A")
    guard [3, 8, 12, 19].contains(i) else { return [request] }
    var again = request
    again.apiKey = "key-B"
    again.headers = ["X-Request-ID": "repeat-\(i)"]
    return [request, again]
}

do {
    let store = try CacheStore(directory: arguments[1])
    let start = DispatchTime.now()
    // Four calls at a time, as a job with a rate limit would make them.
    let lanes = 4
    let answers = try await withThrowingTaskGroup(of: [(Int, String)].self) { group in
        for lane in 0..<lanes {
            group.addTask {
                var done: [(Int, String)] = []
                for i in stride(from: lane, to: batch.count, by: lanes) {
                    let request = batch[i]
                    let answer = try await store.memoize(namespace: "chat", version: "1", key: request) {
                        try await slowModel(request)
                    }
                    done.append((i, answer))
                }
                return done
            }
        }
        var all = [String](repeating: "", count: batch.count)
        for try await lane in group { for (i, answer) in lane { all[i] = answer } }
        return all
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    let memo = store.memoStatistics(namespace: "chat")
    let saved = Double(memo.timeSaved.components.seconds) + Double(memo.timeSaved.components.attoseconds) / 1e18
    print(String(format: "%@: %d calls in %.2f s: %d computed, %d waited for the same call in progress, "
                 + "%d from the cache; time saved by the cache %.2f s",
                 label, answers.count, seconds, memo.misses, memo.joined, memo.hits, saved))
    try store.close()
} catch {
    FileHandle.standardError.write(Data("logcache-demo: \(error)\n".utf8))
    exit(3)
}
