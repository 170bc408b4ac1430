import ArgumentParser
import LogCache

/// `cachectl delete DIR KEY`
struct Delete: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Remove a key.",
        discussion: """
            Exit code 0 when the key was removed, 1 when it was absent.

            Example:
              cachectl delete /var/cache/app greeting
            """
    )

    @OptionGroup var store: StoreArguments

    @Argument(help: "The key (UTF-8).")
    var key: String

    func run() throws {
        guard try store.withExisting({ try $0.removeValue(forKey: key) }) else { throw ExitCode(1) }
    }
}
