import NIOCore
import Synchronization

/// The events of a streamed answer as they arrive from the upstream, handed to every client
/// that asked for it: the one whose request started the call and those that joined it. A
/// client that subscribes late gets what came before first, then the rest live.
final class StreamRelay: Sendable {
    private struct State {
        var chunks: [ByteBuffer] = []
        var done = false
        var subscribers: [AsyncStream<ByteBuffer>.Continuation] = []
    }

    private let state = Mutex(State())

    /// Passes a chunk on to every subscriber (under the lock, so that every subscriber sees
    /// the chunks in order; yielding to a stream never blocks).
    func append(_ chunk: ByteBuffer) {
        state.withLock { s in
            s.chunks.append(chunk)
            for c in s.subscribers { c.yield(chunk) }
        }
    }

    /// Ends every subscriber's stream: the upstream finished (or broke off).
    func finish() {
        state.withLock { s in
            s.done = true
            for c in s.subscribers { c.finish() }
            s.subscribers = []
        }
    }

    /// The chunks so far and those to come. A subscriber that stops reading (a client that
    /// went away) only stops its own stream; the upstream call goes on for the others.
    func subscribe() -> AsyncStream<ByteBuffer> {
        AsyncStream { continuation in
            state.withLock { s in
                for chunk in s.chunks { continuation.yield(chunk) }
                if s.done { continuation.finish() } else { s.subscribers.append(continuation) }
            }
        }
    }
}
