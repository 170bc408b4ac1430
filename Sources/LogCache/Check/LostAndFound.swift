#if canImport(Glibc)
import Glibc
#endif

/// The `lost+found/` subdirectory of a store, where repair puts the bytes it takes out of the
/// store instead of deleting them: an operator (or a later, cleverer tool) may still want them.
///
/// Opening a store ignores it; nothing in it is ever read back into the store.
struct LostAndFound {
    /// The subdirectory's name.
    static let name = "lost+found"

    let store: Directory
    /// Relative paths written so far.
    private(set) var saved: [String] = []
    private(set) var bytes = 0

    init(store: Directory) {
        self.store = store
    }

    private var directory: Directory { Directory(path: store.path(Self.name)) }

    private func create() throws(CacheError) {
        let path = directory.path
        guard mkdir(path, 0o700) == 0 || errno == EEXIST else { throw .io(operation: "create", path: path, errno: errno) }
        // Repair writes into it: it must be a directory of the store, not a link to one elsewhere.
        var st = stat()
        guard lstat(path, &st) == 0 else { throw .io(operation: "stat", path: path, errno: errno) }
        guard (st.st_mode & S_IFMT) == S_IFDIR else {
            throw .corruptStore(path: path, detail: "not a directory (a symbolic link?); repair does not write through it")
        }
    }

    /// A name not taken yet: `base`, else `base.1`, `base.2`, …
    private func unusedName(_ base: String) -> String {
        var name = base
        var n = 0
        while directory.exists(name) {
            n += 1
            name = "\(base).\(n)"
        }
        return name
    }

    /// Writes a copy of `bytes` under a name made from `base`, and flushes it.
    mutating func save(_ bytes: UnsafeRawBufferPointer, as base: String) throws(CacheError) {
        try create()
        let name = unusedName(base)
        let file = try File.open(directory.path(name), flags: O_WRONLY | O_CREAT | O_EXCL)
        try file.write(bytes, at: 0)
        try file.sync()
        saved.append(Self.name + "/" + name)
        self.bytes += bytes.count
    }

    /// Moves a whole file of the store into the subdirectory.
    mutating func move(_ fileName: String, length: Int) throws(CacheError) {
        try create()
        let name = unusedName(fileName)
        guard rename(store.path(fileName), directory.path(name)) == 0 else {
            throw .io(operation: "move to \(Self.name)", path: store.path(fileName), errno: errno)
        }
        saved.append(Self.name + "/" + name)
        bytes += length
    }

    /// Makes the names written so far durable.
    func sync() throws(CacheError) {
        guard !saved.isEmpty else { return }
        try directory.sync()
        try store.sync()
    }
}
