#if canImport(Glibc)
import Glibc
#endif

/// A one-line progress bar on standard error for long work (fsck, export, import).
///
/// Drawn only when standard error is a terminal, so scripts and logs never see it, and at
/// most ten times a second, so it costs nothing next to the work it reports.
final class Progress {
    /// What the counts are: bytes are shown as sizes, items as plain numbers.
    enum Unit { case bytes, items }

    private let label: String
    private let total: Int
    private let unit: Unit
    private let enabled: Bool
    private var lastDraw: Int64 = 0
    private var drawn = false

    init(_ label: String, total: Int, unit: Unit) {
        self.label = label
        self.total = total
        self.unit = unit
        enabled = isatty(2) == 1 && total > 0
    }

    /// Shows `done` of the total, unless the bar was drawn less than 100 ms ago.
    func update(_ done: Int) {
        guard enabled else { return }
        let now = Self.milliseconds()
        guard now - lastDraw >= 100 || done >= total else { return }
        lastDraw = now
        let fraction = min(1, max(0, Double(done) / Double(total)))
        let width = 30
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled)
        let counts = unit == .bytes ? "\(formatByteSize(done)) / \(formatByteSize(total))" : "\(done) / \(total)"
        writeAll(2, Array("\r\(label) [\(bar)] \(Int(fraction * 100))%  \(counts)\u{1B}[K".utf8))
        drawn = true
    }

    /// Clears the bar, leaving the line free for whatever is printed next.
    func finish() {
        guard drawn else { return }
        writeAll(2, Array("\r\u{1B}[K".utf8))
        drawn = false
    }

    private static func milliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}
