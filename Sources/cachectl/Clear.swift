import ArgumentParser
import LogCache

#if canImport(Glibc)
import Glibc
#endif

/// `cachectl clear DIR`
struct Clear: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Remove every entry from a store, or every memoized result of one namespace.",
        discussion: """
            The store keeps its settings; its segment files are replaced by one empty segment \
            and their disk space is freed at once. On a terminal clear asks first unless --yes \
            is given; when standard input is not a terminal it refuses to run without --yes \
            (exit 2). Answering no exits 1 and removes nothing.

            With --namespace only the memoized results of that namespace are removed (of one \
            version of it with --version as well), one tombstone each; every other entry stays.

            Examples:
              cachectl clear /var/cache/app
              cachectl clear /var/cache/app --yes
              cachectl clear /var/cache/llm --namespace chat --yes
              cachectl clear /var/cache/llm --namespace chat --version 1 --yes
            """
    )

    @OptionGroup var store: StoreArguments

    @OptionGroup var memo: NamespaceArguments

    @Flag(help: "Do not ask.")
    var yes = false

    func validate() throws {
        if !yes && isatty(0) != 1 {
            throw ValidationError("Standard input is not a terminal, so clear cannot ask: give --yes to remove every entry.")
        }
    }

    func run() throws {
        let store = try store.openExisting()
        if !yes {
            let what = try memo.namespace.map { namespace in
                let count = try store.memoEntries(namespace: namespace, version: memo.version).count
                return "the \(count) entries of namespace \(namespace)" + (memo.version.map { " version \($0)" } ?? "")
            } ?? "all \(store.statistics.entries) entries"
            printError("Remove \(what) from \(self.store.directory)? [y/N] ", newline: false)
            let answer = readLine()?.trimmingWhitespace.lowercased()
            guard answer == "y" || answer == "yes" else {
                try store.close()
                printError("cachectl: nothing removed")
                throw ExitCode(1)
            }
        }
        if let namespace = memo.namespace {
            try store.removeMemoized(namespace: namespace, version: memo.version)
        } else {
            try store.removeAll()
        }
        try store.close()
    }
}

extension String {
    fileprivate var trimmingWhitespace: Substring {
        let start = drop(while: \.isWhitespace)
        return start.dropLast(start.reversed().prefix(while: \.isWhitespace).count)
    }
}
