#if canImport(Glibc)
import Glibc
#endif

/// File-system operations on the store directory.
struct Directory: Sendable {
    let path: String

    /// `path/name`.
    func path(_ name: String) -> String { path + "/" + name }

    /// Opens `path`, creating it (mode 0700) when missing.
    static func openOrCreate(_ path: String) throws(CacheError) -> Directory {
        var st = stat()
        if stat(path, &st) != 0 {
            guard errno == ENOENT else { throw .directoryUnavailable(path: path, errno: errno) }
            guard mkdir(path, 0o700) == 0 || errno == EEXIST else { throw .directoryUnavailable(path: path, errno: errno) }
            guard stat(path, &st) == 0 else { throw .directoryUnavailable(path: path, errno: errno) }
        }
        guard (st.st_mode & S_IFMT) == S_IFDIR else { throw .notADirectory(path: path) }
        return Directory(path: path)
    }

    /// Names in the directory, without "." and "..".
    func names() throws(CacheError) -> [String] {
        guard let dir = opendir(path) else { throw .io(operation: "list", path: path, errno: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Whether `name` exists.
    func exists(_ name: String) -> Bool {
        var st = stat()
        return lstat(path(name), &st) == 0
    }

    /// The size of `name` in bytes, or nil when it does not exist.
    func fileSize(_ name: String) -> Int? {
        var st = stat()
        return lstat(path(name), &st) == 0 ? Int(st.st_size) : nil
    }

    /// Flushes the directory itself, so that creations, renames and removals survive a power loss.
    func sync() throws(CacheError) {
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(operation: "open", path: path, errno: errno) }
        defer { Glibc.close(fd) }
        guard retryingEINTR({ fsync(fd) }) == 0 else { throw .io(operation: "fsync", path: path, errno: errno) }
    }

    /// Replaces `name` with `bytes` so that a reader sees the old file or the new one, never
    /// a mix: write a temporary file, fsync it, rename it over, fsync the directory.
    func writeAtomically(_ name: String, _ bytes: [UInt8], temporarySuffix: String = ".tmp") throws(CacheError) {
        let tmp = path(name + temporarySuffix)
        // A leftover temporary file (or anything planted under its name) is removed, and the
        // new one must be created here: O_EXCL never follows a link to a file elsewhere.
        guard unlink(tmp) == 0 || errno == ENOENT else { throw .io(operation: "remove", path: tmp, errno: errno) }
        let file = try File.open(tmp, flags: O_WRONLY | O_CREAT | O_EXCL)
        do {
            try file.write(bytes, at: 0)
            try file.sync()
        } catch {
            unlink(tmp)
            throw error
        }
        guard rename(tmp, path(name)) == 0 else {
            let e = errno
            unlink(tmp)
            throw .io(operation: "rename", path: tmp, errno: e)
        }
        try sync()
    }

    /// Removes `name`; a file already gone is not an error.
    func remove(_ name: String) throws(CacheError) {
        guard unlink(path(name)) == 0 || errno == ENOENT else { throw .io(operation: "remove", path: path(name), errno: errno) }
    }

    /// Removes what a crash may have left under `name`: a file, or an empty directory. A
    /// directory that holds something was not made by the store and is left alone rather
    /// than make every open fail.
    func removeLeftover(_ name: String) throws(CacheError) {
        if unlink(path(name)) == 0 || errno == ENOENT { return }
        guard errno == EISDIR else { throw .io(operation: "remove", path: path(name), errno: errno) }
        if rmdir(path(name)) == 0 || errno == ENOTEMPTY || errno == EEXIST || errno == ENOENT { return }
        throw .io(operation: "remove", path: path(name), errno: errno)
    }
}
