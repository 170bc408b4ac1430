/// What memoization itself can fail with. Failures of the store come as ``CacheError``, and
/// an error thrown by the computation is passed on to the caller unchanged.
public enum MemoError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The namespace is empty, too long, or holds `/` or a control character.
    case invalidNamespace(String, reason: String)
    /// The version is empty, too long, or holds `/` or a control character.
    case invalidVersion(String, reason: String)
    /// The key value has no canonical encoding; `path` names the field (empty for the value itself).
    case unencodableKey(path: String, reason: String)
    /// A computation of this key failed earlier and its failure was cached on request
    /// (``ErrorCaching``); `message` is what that error said.
    case cachedFailure(namespace: String, message: String)

    /// What went wrong, in one sentence that names the namespace, version or field.
    public var description: String {
        switch self {
        case .invalidNamespace(let name, let reason):
            "invalid memo namespace \"\(name)\": \(reason)"
        case .invalidVersion(let version, let reason):
            "invalid memo version \"\(version)\": \(reason)"
        case .unencodableKey(let path, let reason):
            path.isEmpty ? "cannot make a memo key of the value: \(reason)"
                : "cannot make a memo key of the value: field \(path): \(reason)"
        case .cachedFailure(let namespace, let message):
            "the computation failed earlier and its failure is cached (namespace \"\(namespace)\"): \(message)"
        }
    }
}
