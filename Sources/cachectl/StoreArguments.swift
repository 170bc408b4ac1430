import ArgumentParser
import LogCache

#if canImport(Glibc)
import Glibc
#endif

/// The store directory every subcommand takes first.
struct StoreArguments: ParsableArguments {
    @Argument(help: "The store directory.")
    var directory: String

    /// Opens the store; a missing or empty directory becomes a new store with default
    /// settings. Only `put` and `import` use it: they are meant to fill a new store.
    ///
    /// Background compaction stays off: a command that runs for a moment would only start a
    /// pass to stop it at close. `cachectl compact` runs one on purpose.
    func openOrCreate() throws -> CacheStore {
        try CacheStore(directory: directory, options: Self.options)
    }

    private static let options = Options(compaction: .manual)

    /// Opens a store that must exist already: a mistyped path must not leave a new, empty
    /// store behind, nor a command report on one as if it were the store meant.
    func openExisting() throws -> CacheStore {
        try requireStore()
        return try CacheStore(directory: directory, options: Self.options)
    }

    /// Runs `body` on the existing store and closes it, also when `body` fails.
    func withExisting<R>(_ body: (CacheStore) throws -> R) throws -> R {
        let store = try openExisting()
        let result: R
        do {
            result = try body(store)
        } catch {
            try? store.close()
            throw error
        }
        try store.close()
        return result
    }

    /// Fails with "no LogCache store at PATH" (exit 3), creating nothing, unless the path is a
    /// directory holding a manifest, or with `allowingLostManifest` at least a segment file
    /// (fsck repairs a store whose manifest was lost).
    func requireStore(allowingLostManifest: Bool = false) throws {
        var st = stat()
        if stat(directory, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR {
            if access(directory + "/" + Manifest.fileName, F_OK) == 0 { return }
            if allowingLostManifest, holdsSegmentFile() { return }
        }
        throw CommandFailure(message: "no LogCache store at \(directory)")
    }

    private func holdsSegmentFile() -> Bool {
        guard let d = opendir(directory) else { return false }
        defer { closedir(d) }
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name.hasSuffix(".seg") { return true }
        }
        return false
    }
}
