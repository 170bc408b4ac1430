import Dispatch
import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Where the proxy's log lines go: standard output, written in batches. One line per
/// request written and flushed on its own cost a system call per request, a measurable part
/// of a hit under load; here lines gather in memory and are written every 50 ms, when 64 KiB
/// have gathered, or at once for a line of level `warning` or above (so that a problem is
/// never held back), and at ``flush()``, which the proxy calls when it stops. A process that
/// is killed loses at most the last 50 ms of `info` lines.
public final class LogOutput: Sendable {
    /// The proxy's standard output.
    public static let standardOutput = LogOutput(descriptor: STDOUT_FILENO)

    private let descriptor: Int32
    private let pending = Mutex<[UInt8]>([])
    /// Set up and started in `init`, never touched afterwards (the timer itself is thread-safe).
    nonisolated(unsafe) private let timer: DispatchSourceTimer
    static let interval = DispatchTimeInterval.milliseconds(50)
    static let largest = 64 << 10

    init(descriptor: Int32) {
        self.descriptor = descriptor
        timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "logcache-proxy.log"))
        timer.schedule(deadline: .now() + Self.interval, repeating: Self.interval)
        timer.setEventHandler { [weak self] in self?.flush() }
        timer.resume()
    }

    /// Adds a line; writes what has gathered when it is urgent or large.
    func append(_ line: String, urgent: Bool) {
        let full = pending.withLock { buffer -> Bool in
            buffer.append(contentsOf: line.utf8)
            return urgent || buffer.count >= Self.largest
        }
        if full { flush() }
    }

    /// Writes every line gathered so far.
    public func flush() {
        // Under the lock, so that two flushes never write their batches out of order.
        pending.withLock { buffer in
            guard !buffer.isEmpty else { return }
            buffer.withUnsafeBytes { bytes in
                var at = 0
                while at < bytes.count {
                    let n = write(descriptor, bytes.baseAddress! + at, bytes.count - at)
                    if n > 0 {
                        at += n
                    } else if n < 0 && errno == EINTR {
                        continue
                    } else {
                        break  // a closed or full output: the lines are dropped, never retried forever
                    }
                }
            }
            buffer.removeAll(keepingCapacity: true)
        }
    }
}

/// A swift-log handler that writes lines as swift-log's `StreamLogHandler` lays them out
/// (`TIME LEVEL LABEL : [METADATA] MESSAGE`) into a ``LogOutput``.
public struct BufferedLogHandler: LogHandler {
    /// The lowest level written.
    public var logLevel: Logger.Level = .info
    /// Metadata written with every line of this handler.
    public var metadata: Logger.Metadata = [:]
    let label: String
    let output: LogOutput

    /// A handler for `label` writing into `output`.
    public init(label: String, output: LogOutput = .standardOutput) {
        self.label = label
        self.output = output
    }

    /// One item of ``metadata``.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Writes one line for `event`.
    public func log(event: LogEvent) {
        var all = metadata
        if let extra = event.metadata { all.merge(extra) { _, new in new } }
        let shown = all.isEmpty ? "" : " " + all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        output.append("\(Self.timestamp()) \(event.level) \(label) :\(shown) \(event.message)\n",
                      urgent: event.level >= .warning)
    }

    /// The local time to the second, as `StreamLogHandler` writes it.
    static func timestamp() -> String {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        // On the stack: this runs for every line.
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { text in
            let n = text.withMemoryRebound(to: CChar.self) { strftime($0.baseAddress, $0.count, "%Y-%m-%dT%H:%M:%S%z", &parts) }
            return String(decoding: UnsafeBufferPointer(rebasing: text[0..<n]), as: UTF8.self)
        }
    }
}
