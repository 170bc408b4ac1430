// The main job LogCache is for: a batch of slow, costly calls (a sleep stands in for a
// model's answer) memoized on disk, so that a second run of the same batch costs nothing.
import Dispatch
import Foundation
import LogCache

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    FileHandle.standardError.write(Data("usage: logcache-demo STORE_DIR [LABEL]\n".utf8))
    exit(2)
}
let label = arguments.count > 2 ? arguments[2] : "run"

/// A slow call: 150 ms of "thinking", then an answer that depends only on the prompt.
func slowModel(_ prompt: String) -> String {
    Thread.sleep(forTimeInterval: 0.15)
    return "answer to \(prompt): " + String(prompt.reversed())
}

let prompts = (1...20).map { "question \($0): what is \($0) squared?" }

do {
    let store = try CacheStore(directory: arguments[1])
    let start = DispatchTime.now()
    var answers: [String] = []
    for prompt in prompts {
        if let cached = try store.value(String.self, forKey: "model-v1/" + prompt) {
            answers.append(cached)
        } else {
            let answer = slowModel(prompt)
            try store.set(encoding: answer, forKey: "model-v1/" + prompt)
            answers.append(answer)
        }
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    let s = store.statistics
    print(String(format: "%@: %d calls in %.2f s  (hits %d, misses %d, entries %d, %d bytes on disk)",
                 label, prompts.count, seconds, s.hits, s.misses, s.entries, s.diskBytes))
    try store.close()
} catch {
    FileHandle.standardError.write(Data("logcache-demo: \(error)\n".utf8))
    exit(3)
}
