import ArgumentParser
import Foundation
import LogCache

/// `cachectl compact DIR`
struct Compact: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reclaim the disk space of overwritten, removed, expired and evicted records.",
        discussion: """
            Runs one compaction pass: the live records of every segment holding dead bytes are \
            copied into new segments and the old files removed. The store stays consistent if \
            the pass is interrupted at any point. On a terminal a progress bar shows the copy.

            Examples:
              cachectl compact /var/cache/app
              cachectl compact /var/cache/app --json | jq .bytesAfter
            """
    )

    @OptionGroup var store: StoreArguments

    @Flag(help: "Print the summary as one JSON object.")
    var json = false

    func run() throws {
        let store = try store.openExisting()
        var bar: Progress?
        let summary = try store.compact { p in
            switch p.phase {
            case .copying:
                if bar == nil { bar = Progress("compacting", total: p.total, unit: .bytes) }
                bar?.update(p.done)
            case .publishing, .removing:
                bar?.finish()
            }
        }
        bar?.finish()
        try store.close()
        if json {
            try printJSON(summary)
            return
        }
        let rows: [(String, String)] = [
            ("segments", "\(summary.segmentsBefore) -> \(summary.segmentsAfter)"),
            ("disk bytes", "\(formatByteSize(summary.bytesBefore)) -> \(formatByteSize(summary.bytesAfter))"),
            ("segments rewritten", "\(summary.segmentsRewritten)"),
            ("live bytes copied", formatByteSize(summary.liveBytesCopied)),
            ("bytes written", formatByteSize(summary.bytesWritten)),
            ("bytes freed", formatByteSize(summary.bytesFreed)),
            ("write amplification", summary.bytesFreed > 0 ? String(format: "%.2f", summary.writeAmplification) : "-"),
            ("seconds", String(format: "%.3f (copying %.3f, syncing %.3f)", summary.seconds,
                                summary.copySeconds, summary.syncSeconds)),
        ]
        printFields(rows)
    }
}
