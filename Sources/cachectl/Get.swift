import ArgumentParser
import LogCache

#if canImport(Glibc)
import Glibc
#endif

/// `cachectl get DIR KEY`
struct Get: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the value of a key to standard output.",
        discussion: """
            Exit code 0 on a hit, 1 on a miss (absent or expired).

            Example:
              cachectl get /var/cache/app greeting > greeting.txt
            """
    )

    @OptionGroup var store: StoreArguments

    @Argument(help: "The key (UTF-8).")
    var key: String

    func run() throws {
        guard let value = try store.withExisting({ try $0.value(forKey: key) }) else { throw ExitCode(1) }
        try writeStandardOutput(value)
    }
}

/// Writes raw bytes to standard output.
func writeStandardOutput(_ bytes: [UInt8]) throws {
    guard writeAll(1, bytes) else {
        throw CommandFailure(message: "cannot write to standard output: \(String(cString: strerror(errno)))")
    }
}
