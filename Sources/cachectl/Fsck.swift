import ArgumentParser
import Foundation
import LogCache

/// `cachectl fsck DIR [--repair]`
struct Fsck: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check every file of a store, and repair it with --repair.",
        discussion: """
            Reads every record of every segment (checksums, lengths, and every compressed \
            value decompressed), every index file against its segment, and the manifest \
            against the files present. It takes the store's lock, so it fails (exit 3) while \
            another process has the store open, and it works on stores too damaged to open.

            Without --repair nothing is written: exit 0 when the store is clean, 1 when \
            problems were found. With --repair it rebuilds bad index files, cuts torn tails, \
            rewrites segments without their damaged records (the damaged bytes are copied to \
            DIR/lost+found/ first), drops missing segments from the manifest and rebuilds a \
            lost manifest from the segment files (with default settings); then it checks \
            again: exit 0 when the store is clean afterwards, 1 when problems remain.

            Examples:
              cachectl fsck /var/cache/app
              cachectl fsck /var/cache/app --repair
              cachectl fsck /var/cache/app --json | jq '.problems[]'
            """
    )

    @OptionGroup var store: StoreArguments

    @Flag(help: "Repair what can be repaired, keeping every good record.")
    var repair = false

    @Flag(help: "Print the report as one JSON object.")
    var json = false

    func run() throws {
        // A store whose manifest was lost is still one to check and repair.
        try store.requireStore(allowingLostManifest: true)
        var bar: Progress?
        let report = try StoreCheck.run(directory: store.directory, repair: repair) { done, total in
            if bar == nil { bar = Progress(repair ? "fsck --repair" : "fsck", total: total, unit: .bytes) }
            bar?.update(done)
        }
        bar?.finish()
        if json {
            try printJSON(report)
        } else {
            printText(report)
        }
        let clean = repair ? (report.remainingProblems ?? []).isEmpty : report.ok
        if !clean { throw ExitCode(1) }
    }

    private func printText(_ r: FsckReport) {
        for p in r.problems { print("problem: \(p)") }
        for a in r.actions { print("repaired: \(a)") }
        var summary = "\(counted(r.segments, "segment")), \(counted(r.records, "good record"))"
        if r.corruptRecords > 0 { summary += ", \(counted(r.corruptRecords, "corrupt record"))" }
        if r.tornTailBytes > 0 { summary += ", \(counted(r.tornTailBytes, "torn tail byte"))" }
        if r.missingSegments > 0 { summary += ", \(counted(r.missingSegments, "missing segment"))" }
        summary += r.ok ? ": clean" : ": \(counted(r.problems.count, "problem"))"
        print(summary)
        if let remaining = r.remainingProblems, !r.ok {
            if r.quarantinedBytes > 0 {
                print("\(r.quarantinedBytes) bytes were saved in \(store.directory)/lost+found/")
            }
            for p in remaining { print("still wrong: \(p)") }
            print(remaining.isEmpty ? "after repair: clean" : "after repair: \(counted(remaining.count, "problem")) remain")
        }
    }
}
