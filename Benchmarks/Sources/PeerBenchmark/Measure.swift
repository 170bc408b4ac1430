import Dispatch
import Foundation

/// Seconds taken by `body`, on the monotonic clock.
func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// The shortest of `runs` timings of `body`.
func bestOf(_ runs: Int, _ body: () throws -> Void) rethrows -> Double {
    var best = Double.infinity
    for _ in 0..<runs { best = min(best, try seconds(body)) }
    return best
}

/// Resident set size of this process in bytes, from /proc/self/statm.
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
}

/// Bytes the files under `path` occupy on the disk (allocated blocks, as `du` counts them),
/// so that sparse or preallocated files count for what they really take.
func diskUsage(_ path: String) -> Int {
    var total = 0
    var st = stat()
    if lstat(path, &st) == 0 { total += Int(st.st_blocks) * 512 }
    guard let names = try? FileManager.default.subpathsOfDirectory(atPath: path) else { return total }
    for name in names where lstat(path + "/" + name, &st) == 0 { total += Int(st.st_blocks) * 512 }
    return total
}

/// Runs a program and returns its standard output; standard error passes through unless captured.
@discardableResult
func runProcess(_ executable: String, _ arguments: [String], captureError: Bool = false,
         environment: [String: String] = [:]) throws -> (status: Int32, output: String, error: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if !environment.isEmpty {
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    }
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    if captureError { process.standardError = err }
    try process.run()
    // Read before waiting: a child that fills the pipe would otherwise never exit.
    let output = out.fileHandleForReading.readDataToEndOfFile()
    let error = captureError ? err.fileHandleForReading.readDataToEndOfFile() : Data()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: output, as: UTF8.self), String(decoding: error, as: UTF8.self))
}

/// The disk's own sequential write speed in MB/s: `dd` writing `megabytes` MiB of zeros into
/// `directory` and flushing them with fdatasync before it reports, so the figure is what
/// reached the disk, not the page cache.
func diskWriteSpeed(directory: String, megabytes: Int) throws -> Double {
    let file = directory + "/dd-sequential-write.tmp"
    defer { try? FileManager.default.removeItem(atPath: file) }
    let result = try runProcess("/bin/dd", ["if=/dev/zero", "of=\(file)", "bs=1M", "count=\(megabytes)", "conv=fdatasync"],
                         captureError: true, environment: ["LC_ALL": "C"])
    // dd's summary: "N bytes (…) copied, S s, R MB/s"; bytes and seconds are locale-proof.
    let words = result.error.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "," })
    guard result.status == 0, let bytes = Double(words.first { Double($0) != nil } ?? ""),
          let s = words.firstIndex(of: "s").flatMap({ Double(words[$0 - 1]) }), s > 0
    else { throw PeerError("dd failed: \(result.error)") }
    return bytes / s / 1e6
}

/// Prints a line of progress on standard error (the table goes to standard output).
func progress(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
