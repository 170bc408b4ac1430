/// Whether a computation's failure is stored like a result.
///
/// By default (``never``) it is not: the error goes to the caller (and to callers in this
/// process waiting for the same computation) and the next call computes again. Caching a
/// failure suits errors that will not go away by retrying, such as a request the service
/// rejects as invalid: within the TTL, calls of that key throw
/// ``MemoError/cachedFailure(namespace:message:)`` with the error's text instead of calling
/// again.
public struct ErrorCaching: Sendable {
    /// How long a cached failure lives; nil when failures are not cached.
    public let ttl: Duration?
    private let predicate: @Sendable (any Error) -> Bool

    private init(ttl: Duration?, predicate: @escaping @Sendable (any Error) -> Bool) {
        self.ttl = ttl
        self.predicate = predicate
    }

    /// Failures are never stored.
    public static let never = ErrorCaching(ttl: nil) { _ in false }

    /// Every failure is stored for `ttl`.
    public static func always(ttl: Duration) -> ErrorCaching {
        ErrorCaching(ttl: ttl) { _ in true }
    }

    /// Failures for which `predicate` is true are stored for `ttl`; others are not.
    public static func when(ttl: Duration, _ predicate: @escaping @Sendable (any Error) -> Bool) -> ErrorCaching {
        ErrorCaching(ttl: ttl, predicate: predicate)
    }

    /// The TTL to store `error` with, or nil when it is not to be stored.
    func ttl(for error: any Error) -> Duration? {
        guard let ttl, predicate(error) else { return nil }
        return ttl
    }
}
