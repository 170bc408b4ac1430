#if canImport(Glibc)
import Glibc
#endif

/// Everything a store operation can fail with; each case names what is wrong and where.
public enum CacheError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The store directory does not exist and could not be created.
    case directoryUnavailable(path: String, errno: Int32)
    /// The path exists but is not a directory.
    case notADirectory(path: String)
    /// The directory holds no LogCache manifest (and, to be opened, is not empty).
    case notAStore(path: String)
    /// The store was written by a format this build does not read.
    case incompatibleFormat(path: String, found: UInt32, supported: UInt32)
    /// A file of the store is damaged beyond what opening can work around.
    case corruptStore(path: String, detail: String)
    /// The key is empty or longer than ``Limits/maxKeyLength``.
    case invalidKey(length: Int)
    /// The value is longer than ``Limits/maxValueLength``.
    case valueTooLarge(length: Int, limit: Int)
    /// The record is larger than the store's whole capacity, so it is not admitted.
    case exceedsCapacity(length: Int, capacity: Int)
    /// An option is out of range.
    case invalidOption(String)
    /// The store has been closed.
    case closed
    /// The store is held exclusively: by fsck or repair, which need every handle closed, or
    /// (for fsck) by a handle that has it open.
    case locked(path: String)
    /// The store is on a network file system, where its locks and shared counters cannot be
    /// trusted; ``Options/allowNetworkFileSystem`` waives the check.
    case networkFileSystem(path: String, fileSystem: String)
    /// A value could not be encoded or decoded with Codable.
    case coding(String)
    /// A system call failed.
    case io(operation: String, path: String, errno: Int32)

    /// What went wrong, in one sentence that names the file, key or setting involved.
    public var description: String {
        switch self {
        case .directoryUnavailable(let path, let e):
            "cannot create or open the store directory \(path): \(Self.text(e))"
        case .notADirectory(let path):
            "\(path) is not a directory"
        case .notAStore(let path):
            "\(path) is not a LogCache store (it has no \(Manifest.fileName) file)"
        case .incompatibleFormat(let path, let found, let supported):
            found < supported && found >= FormatVersion.oldestConvertible
                ? "\(path) is in store format version \(found): this build converts it to version \(supported) when it opens the store while no other process has it open, and checks only version \(supported)"
                : "\(path) was written in store format version \(found); this build reads version \(supported)"
        case .corruptStore(let path, let detail):
            "\(path) is damaged: \(detail)"
        case .invalidKey(let length):
            length == 0 ? "keys must not be empty" : "key of \(length) bytes is longer than the limit of \(Limits.maxKeyLength)"
        case .valueTooLarge(let length, let limit):
            "value of \(length) bytes is larger than the limit of \(limit)"
        case .exceedsCapacity(let length, let capacity):
            "a record of \(length) bytes cannot fit in the store's capacity of \(capacity) bytes"
        case .invalidOption(let what):
            "invalid option: \(what)"
        case .closed:
            "the store is closed"
        case .locked(let path):
            "the store \(path) is locked: fsck or repair needs it to itself, and no handle may have it open meanwhile"
        case .networkFileSystem(let path, let fs):
            "the store \(path) is on a network file system (\(fs)), where file locks and shared memory maps do not work across machines; set allowNetworkFileSystem to accept the risk"
        case .coding(let detail):
            "cannot encode or decode the value: \(detail)"
        case .io(let operation, let path, let e):
            "\(operation) \(path): \(Self.text(e))"
        }
    }

    /// The system's text for an errno value.
    static func text(_ e: Int32) -> String {
        guard let s = strerror(e) else { return "errno \(e)" }
        return String(cString: s) + " (errno \(e))"
    }
}
