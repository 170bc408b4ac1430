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
