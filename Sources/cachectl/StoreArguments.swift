import ArgumentParser
import LogCache

#if canImport(Glibc)
import Glibc
#endif

/// The store directory every subcommand takes first.
struct StoreArguments: ParsableArguments {
    @Argument(help: "The store directory.")
    var directory: String

    /// Opens the store; a missing or empty directory becomes a new store with default settings.
    func open() throws -> CacheStore {
        try CacheStore(directory: directory)
    }

    /// Opens a store that must exist already: commands that only read or empty a store should
    /// not leave a new, empty one behind when the path is mistyped.
    func openExisting() throws -> CacheStore {
        guard access(directory + "/" + Manifest.fileName, F_OK) == 0 else {
            throw CommandFailure(message: "\(directory) is not a LogCache store (no \(Manifest.fileName) file)")
        }
        return try CacheStore(directory: directory)
    }
}
