import Foundation

/// Runs Scripts/diskcache_replay.py on a workload file and records what it measured. The
/// script prints one JSON object of row id to figure, in the units of the table.
struct DiskcacheReplay {
    let python: String
    let script: String

    func run(workload: String, file: String, directory: String, results: Results) throws {
        let arguments = (python == "/usr/bin/env" ? ["python3"] : []) + [script, workload, file, directory]
        let result = try runProcess(python, arguments)
        guard result.status == 0,
              let line = result.output.split(separator: "\n").last,
              let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Double]
        else { throw PeerError("diskcache replay failed (status \(result.status)): \(result.output)") }
        for (id, value) in object { results.record(id, "diskcache", value) }
    }
}
