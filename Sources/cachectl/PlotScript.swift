import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Runs `tools/plot-mrc` (Python with matplotlib) to draw miss-ratio curves from bench results.
enum PlotScript {
    /// The script: `$CACHECTL_PLOT_MRC`, else `tools/plot-mrc` in the nearest directory above
    /// the cachectl executable (a build directory sits inside the source tree), else `plot-mrc` on PATH.
    static func locate() -> String? {
        let fm = FileManager.default
        if let env = ProcessInfo.processInfo.environment["CACHECTL_PLOT_MRC"], !env.isEmpty { return env }
        if let exe = try? fm.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
            for _ in 0..<6 {
                let candidate = dir.appendingPathComponent("tools/plot-mrc").path
                if fm.isReadableFile(atPath: candidate) { return candidate }
                dir = dir.deletingLastPathComponent()
            }
        }
        return findOnPath("plot-mrc")
    }

    static func findOnPath(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// The formats a plot's file extension names.
    static func format(of path: String) -> String? {
        let ext = URL(fileURLWithPath: path).pathExtension.lowercased()
        return ["svg", "png", "pdf"].contains(ext) ? ext : nil
    }

    /// `--metric` names and the JSON field each plots.
    static let metrics = ["miss-ratio": "missRatio", "byte-miss-ratio": "byteMissRatio"]

    /// What matplotlib's absence tells the user to run.
    static let installHint = "python3 -m pip install matplotlib (tools/test installs it)"

    /// python3 and the script, or a failure naming what is missing.
    private static func tools() throws -> (python: String, script: String) {
        guard let python = findOnPath("python3") else {
            throw CommandFailure(message: "cannot plot: python3 was not found on PATH; install Python 3 and then \(installHint)")
        }
        guard let script = locate() else {
            throw CommandFailure(message: "cannot plot: tools/plot-mrc was not found next to cachectl; set CACHECTL_PLOT_MRC to its path")
        }
        return (python, script)
    }

    /// Fails unless python3 can import matplotlib: checked before a replay, so that a plot
    /// that cannot be drawn does not cost the replay first.
    static func checkReady() throws {
        let (python, _) = try tools()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", "import matplotlib"]
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw CommandFailure(message: "cannot run \(python): \(error.localizedDescription)")
        }
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CommandFailure(message: "cannot plot: matplotlib is not installed for \(python); install it with: \(installHint)")
        }
    }

    /// Writes the plot of `jsonText` (bench's JSON) to `output`, drawing the JSON field
    /// `metric`; throws a failure naming what is missing.
    static func plot(jsonText: String, output: String, metric: String) throws {
        let (python, script) = try tools()
        let dataPath = NSTemporaryDirectory() + "cachectl-bench-\(getpid()).json"
        do {
            try Data(jsonText.utf8).write(to: URL(fileURLWithPath: dataPath))
        } catch {
            throw CommandFailure(message: "cannot write \(dataPath) for plotting: \(error.localizedDescription)")
        }
        defer { unlink(dataPath) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script, dataPath, output, metric]
        do {
            try process.run()
        } catch {
            throw CommandFailure(message: "cannot run \(python) \(script): \(error.localizedDescription)")
        }
        process.waitUntilExit()
        switch process.terminationStatus {
        case 0:
            return
        case 3:
            throw CommandFailure(message: "cannot plot: matplotlib is not installed for \(python); install it with: \(installHint)")
        default:
            throw CommandFailure(message: "plot-mrc failed (exit status \(process.terminationStatus)); \(output) was not written")
        }
    }
}
