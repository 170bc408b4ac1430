/// One reply of Redis's protocol, copied out of hiredis's reply object.
enum RedisReply: Sendable, Equatable {
    case string([UInt8])
    case status(String)
    case integer(Int64)
    case null
    case array([RedisReply])
    case error(String)

    /// The bytes of a bulk string; nil for a null reply.
    func bytes() throws(SharedTierError) -> [UInt8]? {
        switch self {
        case .string(let b): return b
        case .null: return nil
        case .error(let message): throw .reply(message)
        default: throw .reply("expected a string reply, got \(self.kind)")
        }
    }

    /// Fails unless the reply is a status or integer (what SET, DEL, PEXPIRE answer).
    func check() throws(SharedTierError) {
        if case .error(let message) = self { throw .reply(message) }
    }

    var kind: String {
        switch self {
        case .string: "a string"
        case .status: "a status"
        case .integer: "an integer"
        case .null: "null"
        case .array: "an array"
        case .error: "an error"
        }
    }
}
