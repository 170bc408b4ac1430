// The main job LogCache is for: a batch of slow, costly calls (a sleep stands in for a
// model's answer) memoized on disk with `memoize`, so that each request is computed once
// however many processes run the batch, and a second run costs nothing. tools/demo runs it
// in several processes at once, and again, around cachectl's checks and repairs.
//
//   logcache-demo STORE_DIR [LABEL] [--version V]
//
// Prints one line of what happened, then a line `result computed=… joined=… hits=… wrong=…
// seconds=… saved=…` for a script to read. Every answer is checked against the answer the
// model gives for its request: a wrong one is counted and makes the exit status 4.
import Dispatch
import Foundation
import LogCache

var positional: [String] = []
var version = "1"
var rest = CommandLine.arguments.dropFirst()
while let argument = rest.popFirst() {
    if argument == "--version", let value = rest.popFirst() {
        version = value
    } else {
        positional.append(argument)
    }
}
guard !positional.isEmpty else {
    FileHandle.standardError.write(Data("usage: logcache-demo STORE_DIR [LABEL] [--version V]\n".utf8))
    exit(2)
}
let label = positional.count > 1 ? positional[1] : "run"

/// What the model answers to `request`: a function of the request alone, as a memoized call must be.
func answer(to request: ChatRequest) -> String {
    guard case .string(let question)? = request.messages.last?.content else { return "" }
    return "answer to \"\(question)\" from \(request.model)"
}

/// A stand-in for a model: 150 ms of "thinking", then the answer.
func slowModel(_ request: ChatRequest) async throws -> String {
    try await Task.sleep(for: .milliseconds(150))
    return answer(to: request)
}

/// The batch: 24 questions, 4 of them asked twice in a row with other transport details (API
/// key, headers), which do not change the answer and so share its cache entry: a repeat that
/// comes while the first call is still running waits for it instead of calling again.
let batch: [ChatRequest] = (1...24).flatMap { i in
    let request = ChatRequest(model: "demo-model", messages: [.system("Answer briefly."), .user("What is \(i) squared?")],
                              temperature: 0, maxTokens: 32, seed: 1, apiKey: "key-A")
    guard [3, 8, 12, 19].contains(i) else { return [request] }
    var again = request
    again.apiKey = "key-B"
    again.headers = ["X-Request-ID": "repeat-\(i)"]
    return [request, again]
}

/// Seconds in a duration, for printing.
func seconds(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

do {
    let store = try CacheStore(directory: positional[0])
    let start = DispatchTime.now()
    // Four calls at a time, as a job with a rate limit would make them; each process starts
    // at another place in the batch, so that processes run side by side meet on the same
    // requests now and then and wait for each other's computation instead of repeating it.
    let lanes = 4
    let offset = label.utf8.reduce(0) { ($0 &* 31 &+ Int($1)) & 0xffff } % batch.count
    let answers = try await withThrowingTaskGroup(of: [(Int, String)].self) { group in
        for lane in 0..<lanes {
            group.addTask {
                var done: [(Int, String)] = []
                for j in stride(from: lane, to: batch.count, by: lanes) {
                    let i = (j + offset) % batch.count
                    let request = batch[i]
                    let result = try await store.memoize(namespace: "chat", version: version, key: request) {
                        try await slowModel(request)
                    }
                    done.append((i, result))
                }
                return done
            }
        }
        var all = [String](repeating: "", count: batch.count)
        for try await lane in group { for (i, result) in lane { all[i] = result } }
        return all
    }
    let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    let wrong = zip(batch, answers).filter { answer(to: $0.0) != $0.1 }.count
    let memo = store.memoStatistics(namespace: "chat")
    print(String(format: "%@: %d calls in %.2f s: %d computed, %d waited for the same call in this process, "
                 + "%d from the cache (%.2f s of computing saved), %d wrong",
                 label, answers.count, elapsed, memo.misses, memo.joined, memo.hits, seconds(memo.timeSaved), wrong))
    print(String(format: "result computed=%d joined=%d hits=%d wrong=%d seconds=%.3f saved=%.3f",
                 memo.misses, memo.joined, memo.hits, wrong, elapsed, seconds(memo.timeSaved)))
    try store.close()
    exit(wrong == 0 ? 0 : 4)
} catch {
    FileHandle.standardError.write(Data("logcache-demo: \(error)\n".utf8))
    exit(3)
}
