/// What the shared tier can fail with. Only a configuration that cannot work (a URL that
/// does not parse, a setting out of range) reaches a caller, from
/// ``SharedCache/init(local:options:)``; an unreachable, slow or failing Redis never does:
/// the store keeps working locally and the failure is counted (``SharedTierStatistics``).
public enum SharedTierError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The Redis URL does not parse, or asks for something the tier does not do.
    case invalidURL(String, reason: String)
    /// A setting is out of its range; the message names it.
    case invalidOption(String)
    /// Redis could not be reached, or the connection broke or timed out.
    case unavailable(String)
    /// Redis answered with an error (`-ERR …`), or with a reply of the wrong shape.
    case reply(String)

    /// What went wrong, in one sentence.
    public var description: String {
        switch self {
        case .invalidURL(let url, let reason): "invalid Redis URL \"\(url)\": \(reason)"
        case .invalidOption(let message): "invalid shared tier option: \(message)"
        case .unavailable(let message): "Redis is unavailable: \(message)"
        case .reply(let message): "Redis answered with an error: \(message)"
        }
    }
}
