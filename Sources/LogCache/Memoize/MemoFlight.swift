import Dispatch
import Synchronization

/// One computation of a key in progress in this process, and the callers waiting for it.
///
/// The first caller of a missing key leads: it computes and then ``finish(_:)``es the flight.
/// Callers of the same key that arrive meanwhile join and wait, threads on a semaphore and
/// tasks on a continuation (a waiting task does not block its thread), and all get the same
/// outcome.
final class MemoFlight: Sendable {
    /// What the leader ended with: the stored record's bytes, or the error it ended with.
    enum Outcome: Sendable {
        case record([UInt8])
        case failure(any Error)
    }

    private struct State {
        var outcome: Outcome?
        var threads: [DispatchSemaphore] = []
        var tasks: [CheckedContinuation<Outcome, Never>] = []
    }

    private let state = Lock(State())

    /// Blocks the calling thread until the leader finishes.
    func wait() -> Outcome {
        let semaphore = DispatchSemaphore(value: 0)
        if let done = state.withLock({ s -> Outcome? in
            if let o = s.outcome { return o }
            s.threads.append(semaphore)
            return nil
        }) { return done }
        semaphore.wait()
        return state.withLock { s in
            guard let o = s.outcome else { preconditionFailure("a memo flight woke a waiter before it finished") }
            return o
        }
    }

    /// Suspends the calling task until the leader finishes.
    func wait() async -> Outcome {
        await withCheckedContinuation { (continuation: CheckedContinuation<Outcome, Never>) in
            let done = state.withLock { s -> Outcome? in
                if let o = s.outcome { return o }
                s.tasks.append(continuation)
                return nil
            }
            if let done { continuation.resume(returning: done) }
        }
    }

    /// Hands `outcome` to every waiter, present and future.
    func finish(_ outcome: Outcome) {
        let (threads, tasks) = state.withLock { s in
            s.outcome = outcome
            defer { s.threads = []; s.tasks = [] }
            return (s.threads, s.tasks)
        }
        for t in threads { t.signal() }
        for t in tasks { t.resume(returning: outcome) }
    }
}
