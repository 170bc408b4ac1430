import ArgumentParser
import LogCache

/// `--namespace` and `--version`: narrow a subcommand to the memoized results of one namespace.
struct NamespaceArguments: ParsableArguments {
    @Option(help: "Only the memoized results of this namespace.")
    var namespace: String?

    @Option(help: "With --namespace: only this version of it.")
    var version: String?

    func validate() throws {
        if version != nil && namespace == nil { throw ValidationError("--version needs --namespace.") }
        if let namespace {
            do { try MemoKey.check(namespace: namespace) } catch { throw ValidationError("--namespace: \(error)") }
        }
        if let version {
            do { try MemoKey.check(version: version) } catch { throw ValidationError("--version: \(error)") }
        }
    }

    /// The key prefix of the namespace (and version) given; nil without --namespace.
    var prefix: String? {
        guard let namespace else { return nil }
        return try? MemoKey.prefix(namespace: namespace, version: version)
    }
}
