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
    ///
    /// Background compaction stays off: a command that runs for a moment would only start a
    /// pass to stop it at close. `cachectl compact` runs one on purpose.
    func open() throws -> CacheStore {
        try CacheStore(directory: directory, options: Self.options)
    }

    private static let options = Options(compaction: .manual)

    /// Opens a store that must exist already: commands that only read or empty a store should
    /// not leave a new, empty one behind when the path is mistyped.
    func openExisting() throws -> CacheStore {
        guard access(directory + "/" + Manifest.fileName, F_OK) == 0 else {
            throw CommandFailure(message: "\(directory) is not a LogCache store (no \(Manifest.fileName) file)")
        }
        return try CacheStore(directory: directory, options: Self.options)
    }
}
