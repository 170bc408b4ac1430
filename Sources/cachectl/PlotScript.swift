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

    /// Writes the plot of `jsonText` (bench's JSON) to `output`; throws a failure naming what is missing.
    static func plot(jsonText: String, output: String) throws {
        guard let python = findOnPath("python3") else {
            throw CommandFailure(message: "cannot plot: python3 was not found on PATH (the results above are complete; install Python 3 to draw \(output))")
        }
        guard let script = locate() else {
            throw CommandFailure(message: "cannot plot: tools/plot-mrc was not found next to cachectl; set CACHECTL_PLOT_MRC to its path")
        }
        let dataPath = NSTemporaryDirectory() + "cachectl-bench-\(getpid()).json"
        do {
            try Data(jsonText.utf8).write(to: URL(fileURLWithPath: dataPath))
        } catch {
            throw CommandFailure(message: "cannot write \(dataPath) for plotting: \(error.localizedDescription)")
        }
        defer { unlink(dataPath) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script, dataPath, output]
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
            throw CommandFailure(message: "cannot plot: matplotlib is not installed for \(python) and could not be installed with pip")
        default:
            throw CommandFailure(message: "plot-mrc failed (exit status \(process.terminationStatus)); \(output) was not written")
        }
    }
}
