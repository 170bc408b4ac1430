import Foundation
import Synchronization
@testable import LogCache

/// A running `logcache-worker` whose output lines are collected as they come, so a test can
/// wait for a line, act, and wait for the next one. (`Process` is not marked `Sendable`; it is
/// only started, polled and signalled here.)
final class WorkerProcess: @unchecked Sendable {
    private let process: Process
    private let collector = LineCollector()

    /// Starts the worker with `arguments`, feeding it `input` on standard input.
    init(_ arguments: [String], input: [UInt8] = [], environment: [String: String] = [:]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: productPath("logcache-worker"))
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let out = Pipe(), inp = Pipe()
        process.standardOutput = out
        process.standardInput = inp
        self.process = process
        out.fileHandleForReading.readabilityHandler = { [collector] handle in
            let chunk = handle.availableData
            collector.state.withLock { o in
                if chunk.isEmpty {
                    handle.readabilityHandler = nil
                    if !o.partial.isEmpty { o.lines.append(String(decoding: o.partial, as: UTF8.self)) }
                    o.partial = []
                    o.closed = true
                    return
                }
                o.partial += chunk
                while let nl = o.partial.firstIndex(of: 10) {
                    o.lines.append(String(decoding: o.partial[..<nl], as: UTF8.self))
                    o.partial.removeSubrange(...nl)
                }
            }
        }
        try process.run()
        inp.fileHandleForWriting.write(Data(input))
        try inp.fileHandleForWriting.close()
    }

    /// The process id.
    var pid: Int32 { process.processIdentifier }

    /// The lines printed so far.
    var lines: [String] { collector.state.withLock { $0.lines } }

    /// Waits up to `timeout` for a line starting with `prefix`; the line, or nil.
    @discardableResult
    func waitForLine(_ prefix: String, timeout: Duration = .seconds(20)) -> String? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let (found, closed) = collector.state.withLock { o in (o.lines.first { $0.hasPrefix(prefix) }, o.closed) }
            if let found { return found }
            if closed { return nil }
            Thread.sleep(forTimeInterval: 0.005)
        }
        return nil
    }

    /// Waits up to `timeout` for the process to end; its exit status, or nil if it is still running.
    @discardableResult
    func waitForExit(timeout: Duration = .seconds(30)) -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now >= deadline { return nil }
            Thread.sleep(forTimeInterval: 0.005)
        }
        process.waitUntilExit()
        // Let the reader take the last bytes of the pipe.
        let closeDeadline = ContinuousClock.now + .seconds(5)
        while !collector.state.withLock({ $0.closed }) && ContinuousClock.now < closeDeadline {
            Thread.sleep(forTimeInterval: 0.005)
        }
        return process.terminationStatus
    }

    /// Sends SIGKILL and waits for the process to end.
    func kill() {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}

/// Lines read from a pipe, shared between the pipe's reader and the test.
final class LineCollector: Sendable {
    struct State {
        var lines: [String] = []
        var partial: [UInt8] = []
        var closed = false
    }

    let state = Lock(State())
}
