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

    /// What `--json` prints: the store's statistics plus its format and kept settings.
    struct Report: Encodable {
        var statistics: Statistics
        var formatVersion: UInt32
        var settings: StoreSettings

        func encode(to encoder: any Encoder) throws {
            try statistics.encode(to: encoder)
            var c = encoder.container(keyedBy: Key.self)
            try c.encode(formatVersion, forKey: .formatVersion)
            try c.encode(settings.compression.description, forKey: .compression)
            try c.encode(settings.compressionThreshold, forKey: .compressionThreshold)
            try c.encode(settings.segmentSize, forKey: .segmentSize)
            try c.encode(settings.policy.description, forKey: .policy)
            // Explicit nulls: "no limit" is a setting a script should see, not a missing key.
            try c.encode(settings.capacityBytes, forKey: .capacity)
            try c.encode(settings.capacityEntries, forKey: .maxEntries)
            try c.encode(settings.defaultTTLMilliseconds.map { Double($0) / 1000 }, forKey: .defaultTTLSeconds)
        }

        enum Key: String, CodingKey {
            case formatVersion, compression, compressionThreshold, segmentSize, policy, capacity, maxEntries,
                 defaultTTLSeconds
        }
    }

    func run() throws {
        let report = try store.withExisting {
            Report(statistics: $0.statistics, formatVersion: FormatVersion.current, settings: $0.settings)
        }
        if json {
            try printJSON(report)
            return
        }
        let s = report.statistics
        let settings = report.settings
        let rows: [(String, String)] = [
            ("entries", "\(s.entries)"), ("live bytes", "\(s.liveBytes)"), ("disk bytes", "\(s.diskBytes)"),
            ("segments", "\(s.segments)"), ("format version", "\(report.formatVersion)"),
            ("compression", settings.compression.description),
            ("compression threshold", "\(settings.compressionThreshold)"),
            ("segment size", formatByteSize(settings.segmentSize)),
            ("policy", settings.policy.description),
            ("capacity", settings.capacityBytes.map(formatByteSize) ?? "unbounded"),
            ("max entries", settings.capacityEntries.map { "\($0)" } ?? "unbounded"),
            ("default TTL", settings.defaultTTLMilliseconds.map { "\(settingSeconds(milliseconds: $0)) s" } ?? "none"),
            ("evictions", "\(s.evictions) (\(s.evictedBytes) bytes)"), ("expirations", "\(s.expirations)"),
            ("torn records dropped", "\(s.tornRecordsDropped)"), ("corrupt records", "\(s.corruptRecords)"),
        ]
        printFields(rows)
    }
}
