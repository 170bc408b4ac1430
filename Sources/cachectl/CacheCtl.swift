import ArgumentParser
import LogCache

#if canImport(Glibc)
import Glibc
#endif

/// The operator's tool for LogCache stores.
@main
struct CacheCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cachectl",
        abstract: "Look into, check, repair, copy and measure LogCache stores.",
        discussion: """
            Exit codes: 0 success or hit; 1 miss, not found or problems found; 2 usage error; \
            3 any other failure (the message on standard error names the file and what is wrong).

            Sizes take plain bytes or KiB, MiB, GiB (powers of 1024) or KB, MB, GB (powers of \
            1000). `cachectl help SUBCOMMAND` shows examples.
            """,
        subcommands: [
            Init.self, Put.self, Get.self, Delete.self, List.self, Stats.self, Fsck.self, Export.self,
            Import.self, Clear.self, Compact.self, Namespaces.self, Bench.self,
        ]
    )

    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let code as ExitCode {
            Glibc.exit(code.rawValue)
        } catch let failure as CacheError {
            printError("cachectl: \(failure)")
            Glibc.exit(3)
        } catch let failure as CommandFailure {
            printError("cachectl: \(failure.message)")
            Glibc.exit(3)
        } catch {
            // Parsing and validation errors, and --help.
            let code = exitCode(for: error)
            let message = fullMessage(for: error)
            if code == .success {
                print(message)
                Glibc.exit(0)
            }
            printError(message)
            Glibc.exit(2)
        }
    }
}

/// A failure of a subcommand that is not a store error (a file it cannot read, say): exit 3.
struct CommandFailure: Error {
    let message: String
}

/// Writes all of `bytes` to a file descriptor; false when it fails.
@discardableResult
func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBytes { b in
        var done = 0
        while done < b.count {
            let n = write(fd, b.baseAddress! + done, b.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            done += n
        }
        return true
    }
}

/// Writes a line to standard error (without the newline for a question).
func printError(_ message: String, newline: Bool = true) {
    var line = message
    if newline && !line.hasSuffix("\n") { line += "\n" }
    writeAll(2, Array(line.utf8))
}
