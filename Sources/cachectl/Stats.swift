import ArgumentParser
import Foundation
import LogCache

/// `cachectl stats DIR`
struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the size and settings of a store.",
        discussion: """
            Examples:
              cachectl stats /var/cache/app
              cachectl stats /var/cache/app --json | jq .liveBytes
            """
    )

    @OptionGroup var store: StoreArguments

    @Flag(help: "Print one JSON object.")
    var json = false

    /// What `--json` prints: the store's statistics plus its format and compression.
    struct Report: Encodable {
        var statistics: Statistics
        var formatVersion: UInt32
        var compression: String

        func encode(to encoder: any Encoder) throws {
            try statistics.encode(to: encoder)
            var c = encoder.container(keyedBy: Key.self)
            try c.encode(formatVersion, forKey: .formatVersion)
            try c.encode(compression, forKey: .compression)
        }

        enum Key: String, CodingKey { case formatVersion, compression }
    }

    func run() throws {
        let store = try store.open()
        let report = Report(statistics: store.statistics, formatVersion: FormatVersion.current,
                            compression: store.settings.compression.description)
        try store.close()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        let s = report.statistics
        let rows: [(String, String)] = [
            ("entries", "\(s.entries)"), ("live bytes", "\(s.liveBytes)"), ("disk bytes", "\(s.diskBytes)"),
            ("segments", "\(s.segments)"), ("format version", "\(report.formatVersion)"),
            ("compression", report.compression), ("evictions", "\(s.evictions) (\(s.evictedBytes) bytes)"),
            ("expirations", "\(s.expirations)"), ("torn records dropped", "\(s.tornRecordsDropped)"),
            ("corrupt records", "\(s.corruptRecords)"),
        ]
        let width = rows.map(\.0.count).max() ?? 0
        for (k, v) in rows { print(k.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + v) }
    }
}
