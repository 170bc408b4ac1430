import Foundation
@testable import LogCache

/// A fresh empty directory under the system's temporary directory, removed by `cleanup()`.
struct TemporaryDirectory {
    let path: String

    init(_ label: String = #function) {
        let safe = label.filter { $0.isLetter || $0.isNumber }
        path = NSTemporaryDirectory() + "logcache-\(safe)-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// A path inside the directory.
    func file(_ name: String) -> String { path + "/" + name }

    func cleanup() { try? FileManager.default.removeItem(atPath: path) }
}

/// A deterministic pseudo-random generator (SplitMix64), so failures can be replayed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// `count` random bytes; half of each value repeats text when `compressible`.
    mutating func bytes(_ count: Int, compressible: Bool = false) -> [UInt8] {
        (0..<count).map { i in
            compressible && i % 4 != 0 ? UInt8(97 + i % 13) : UInt8(truncatingIfNeeded: next())
        }
    }
}

/// The built executable `name` of this package, next to the test bundle.
func productPath(_ name: String) -> String {
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
    // On Linux the test bundle is a plain executable in the build directory.
    if dir.lastPathComponent.hasSuffix(".xctest") { dir = dir.deletingLastPathComponent() }
    return dir.appendingPathComponent(name).path
}

/// What a finished child process printed and how it ended.
struct ProcessResult {
    var status: Int32
    var stdout: [UInt8]
    var stderr: String
    var text: String { String(decoding: stdout, as: UTF8.self) }
}

/// Runs an executable to completion, feeding it `input` on standard input.
func run(_ path: String, _ arguments: [String], input: [UInt8] = []) throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    let out = Pipe(), err = Pipe(), inp = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = inp
    try process.run()
    inp.fileHandleForWriting.write(Data(input))
    try inp.fileHandleForWriting.close()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return ProcessResult(status: process.terminationStatus, stdout: [UInt8](stdout),
                         stderr: String(decoding: stderr, as: UTF8.self))
}

/// Flips one bit of the file at `path`, at `offset` bytes from its start.
func flipBit(_ path: String, at offset: Int, bit: Int = 0) throws {
    let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
    defer { try? handle.close() }
    try handle.seek(toOffset: UInt64(offset))
    guard let byte = try handle.read(upToCount: 1)?.first else { return }
    try handle.seek(toOffset: UInt64(offset))
    try handle.write(contentsOf: [byte ^ UInt8(1 << bit)])
}

/// The size of the file at `path`.
func fileSize(_ path: String) -> Int {
    ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? -1
}

/// The record salt kept in the manifest of the store at `path`, for tests that write
/// records into a store's files as the store itself would.
func storeSalt(_ path: String) throws -> RecordSalt {
    let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path + "/MANIFEST")))
    return try bytes.withUnsafeBytes { try Manifest.decode($0).get() }.salt
}

/// Runs `body` on a thread of its own that takes the append mutex of the store in `dir`
/// and ends without letting it go: what a writer killed while appending leaves (the mutex is
/// robust, so the next locker gets `EOWNERDEAD`). Returns once the thread has ended.
func dieHoldingAppendMutex(_ dir: String, _ body: @escaping () throws -> Void) throws {
    let counters = try SharedCounters(directory: Directory(path: dir))
    final class Job: @unchecked Sendable {
        let counters: SharedCounters
        let body: () throws -> Void
        var failure: (any Error)?
        init(_ counters: SharedCounters, _ body: @escaping () throws -> Void) { self.counters = counters; self.body = body }
    }
    let job = Job(counters, body)
    var thread = pthread_t()
    let rc = pthread_create(&thread, nil, { arg in
        let job = Unmanaged<Job>.fromOpaque(arg!).takeUnretainedValue()
        do {
            try job.counters.lockAppend()
            try job.body()
        } catch {
            job.failure = error
        }
        return nil
    }, Unmanaged.passUnretained(job).toOpaque())
    guard rc == 0 else { throw CacheError.io(operation: "pthread_create", path: dir, errno: rc) }
    pthread_join(thread, nil)
    if let failure = job.failure { throw failure }
    withExtendedLifetime(job) {}
}
