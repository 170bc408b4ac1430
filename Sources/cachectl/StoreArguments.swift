import ArgumentParser
import LogCache

/// The store directory every subcommand takes first.
struct StoreArguments: ParsableArguments {
    @Argument(help: "The store directory.")
    var directory: String

    /// Opens the store; a missing or empty directory becomes a new store with default settings.
    func open() throws -> CacheStore {
        try CacheStore(directory: directory)
    }
}
