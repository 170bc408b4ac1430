import ArgumentParser
import Foundation
import LogCache
import LogCacheRedis

/// `cachectl stats DIR`
struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the size and settings of a store.",
        discussion: """
            Examples:
              cachectl stats /var/cache/app
              cachectl stats /var/cache/app --json | jq .liveBytes
              cachectl stats /var/cache/app --redis redis://cache-host:6379/0

            With --redis (or $LOGCACHE_REDIS_URL), also the shared tier's server: whether it
            answers, its values and leases under the prefix, its memory and eviction policy.
            """
    )

    @OptionGroup var store: StoreArguments

    @Flag(help: "Print one JSON object.")
    var json = false

    @OptionGroup var shared: RedisArguments

    /// What `--json` prints: the store's statistics plus its format and kept settings.
    struct Report: Encodable {
        var statistics: Statistics
        var formatVersion: UInt32
        var settings: StoreSettings
        var sharedTier: SharedTierServerReport?

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
            if let sharedTier { try c.encode(sharedTier, forKey: .sharedTier) }
        }

        enum Key: String, CodingKey {
            case formatVersion, compression, compressionThreshold, segmentSize, policy, capacity, maxEntries,
                 defaultTTLSeconds, sharedTier
        }
    }

    func run() throws {
        let report = try store.withExisting { s in
            let tier = try shared.sharedCache(s)
            defer { tier?.close() }
            return Report(statistics: s.statistics, formatVersion: FormatVersion.current, settings: s.settings,
                          sharedTier: tier?.serverReport())
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
        var shown = rows
        if let t = report.sharedTier {
            shown.append(("shared tier", t.url))
            if t.reachable {
                shown.append(("  reachable", "yes (PING \(t.pingMicroseconds ?? 0) µs)"))
                shown.append(("  shared values", t.sharedValues.map { "\($0)" } ?? "unknown"))
                shown.append(("  leases held", t.leases.map { "\($0)" } ?? "unknown"))
                for name in ["redis_version", "used_memory", "maxmemory", "maxmemory_policy", "evicted_keys"] {
                    if let v = t.info[name] { shown.append(("  \(name)", v)) }
                }
            } else {
                shown.append(("  reachable", "no: \(t.error ?? "")"))
            }
        }
        printFields(shown)
    }
}
