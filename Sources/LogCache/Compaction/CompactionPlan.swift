/// How full of live data one sealed segment is, as compaction sees it.
struct SegmentUsage: Equatable {
    var id: UInt32
    /// File length.
    var length: Int
    /// Bytes of records the index points at.
    var liveBytes: Int
    /// Bytes of tombstones a pass would keep (LiveSet.segmentTombstoneBytes); they are not
    /// dead space.
    var pinnedBytes: Int

    var deadBytes: Int { max(0, length - SegmentHeader.size - liveBytes - pinnedBytes) }

    var deadFraction: Double {
        let body = length - SegmentHeader.size
        return body > 0 ? Double(deadBytes) / Double(body) : 0
    }
}

/// Which sealed segments a pass rewrites: pure, so the choice can be tested on its own.
///
/// A pass rewrites runs of segments that are next to each other in log order: the new
/// segments take the run's place, which keeps every record in the same order relative to
/// the records outside the run.
enum CompactionPlan {
    /// Runs of segment numbers to rewrite, each in log order; empty when nothing is worth it.
    ///
    /// - Parameters:
    ///   - sealed: the sealed segments in log order.
    ///   - onDemand: a pass asked for by the user rewrites every segment with any dead bytes;
    ///     a background pass waits for `options`' triggers.
    static func runs(
        sealed: [SegmentUsage], options: CompactionOptions, segmentSize: Int, onDemand: Bool
    ) -> [[UInt32]] {
        var chosen: [Bool]
        if onDemand {
            chosen = sealed.map { $0.deadBytes > 0 }
        } else {
            let totalDead = sealed.reduce(0) { $0 + $1.deadBytes }
            let triggered = totalDead >= options.triggerDeadBytes
                || sealed.contains { $0.deadFraction >= options.triggerDeadFraction }
            guard triggered else { return [] }
            chosen = sealed.map { $0.deadBytes > 0 && $0.deadFraction >= options.selectDeadFraction }
        }
        guard chosen.contains(true) else { return [] }
        // Small segments (left by earlier passes) next to a chosen one go along, so that
        // passes merge them instead of leaving ever more small files.
        let small = sealed.map { $0.length < segmentSize / 4 }
        for i in sealed.indices.dropFirst() where small[i] && chosen[i - 1] { chosen[i] = true }
        for i in sealed.indices.dropLast().reversed() where small[i] && chosen[i + 1] { chosen[i] = true }

        var runs: [[UInt32]] = []
        var current: [UInt32] = []
        for (usage, take) in zip(sealed, chosen) {
            if take {
                current.append(usage.id)
            } else if !current.isEmpty {
                runs.append(current)
                current = []
            }
        }
        if !current.isEmpty { runs.append(current) }
        // A run of one segment with no dead bytes (a small one taken along) gains nothing.
        return runs.filter { run in
            run.count > 1 || sealed.first { $0.id == run[0] }.map { $0.deadBytes > 0 } ?? false
        }
    }
}
