import ArgumentParser
import Foundation
import LogCache

/// `cachectl namespaces DIR`
struct Namespaces: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the namespaces of memoized results, with their versions, sizes and recorded compute time.",
        discussion: """
            Memoized results are stored under memo/NAMESPACE/VERSION/HASH. For each namespace: \\
            its live entries, their size as stored, the compute time recorded with them (what \\
            one more hit on each would save), cached failures, and the entries per version. \\
            Each entry's value is read for its recorded time.

            Examples:
              cachectl namespaces /var/cache/llm
              cachectl namespaces /var/cache/llm --json | jq '.[] | select(.namespace == "chat")'
            """
    )

    @OptionGroup var store: StoreArguments

    @Flag(help: "Print a JSON array of objects: namespace, entries, storedBytes, computeSeconds, failures, versions (entries per version).")
    var json = false

    /// One namespace as `--json` prints it.
    struct Row: Encodable {
        var namespace: String
        var entries: Int, storedBytes: Int
        var computeSeconds: Double
        var failures: Int
        var versions: [String: Int]
    }

    func run() throws {
        let summaries = try store.withExisting { try $0.memoNamespaces() }
        if json {
            let rows = summaries.map {
                Row(namespace: $0.namespace, entries: $0.entries, storedBytes: $0.storedBytes,
                    computeSeconds: seconds($0.computeTime), failures: $0.failures, versions: $0.versions)
            }
            try printJSON(rows)
            return
        }
        let header = ["NAMESPACE", "ENTRIES", "STORED", "COMPUTE", "FAILURES", "VERSIONS"]
        let rows = summaries.map { s in
            [KeyText(Array(s.namespace.utf8)).display, "\(s.entries)", formatByteSize(s.storedBytes),
             timeText(seconds(s.computeTime)), "\(s.failures)",
             s.versions.sorted { $0.key < $1.key }.map { "\($0.key) (\($0.value))" }.joined(separator: ", ")]
        }
        let widths = (0..<header.count).map { i in ([header] + rows).map { $0[i].count }.max() ?? 0 }
        for row in [header] + rows {
            let cells = row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            }
            print(cells.joined(separator: "  "))
        }
    }

    /// Seconds, minutes or hours with one decimal: `12.5s`, `3.2m`, `41.0h`.
    private func timeText(_ s: Double) -> String {
        if s < 100 { return String(format: "%.1fs", s) }
        if s < 6000 { return String(format: "%.1fm", s / 60) }
        return String(format: "%.1fh", s / 3600)
    }

    private func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}
