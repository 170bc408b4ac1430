import Dispatch

/// Replays one trace against many simulations at once: the trace is read (and decompressed)
/// once, in blocks, and each block is handed to every simulation, several in parallel.
public enum Replay {
    /// Requests per block: large enough to amortize the hand-off, small enough to stay in cache.
    public static let blockSize = 1 << 15

    /// Feeds all of `reader` to `runs`. The first `warmup` requests are replayed but not counted.
    /// `threads` simulations run at a time. `progress` is called after each block with the
    /// fraction of the input read and the requests so far. Returns the number of requests read.
    @discardableResult
    public static func run<R: TraceReader>(
        _ reader: inout R, runs: [any SimulationRun], warmup: Int = 0, threads: Int = 1,
        progress: ((Double, Int) -> Void)? = nil
    ) throws(TraceError) -> Int {
        let storage = UnsafeMutableBufferPointer<TraceRequest>.allocate(capacity: blockSize)
        defer { storage.deallocate() }
        var total = 0
        while true {
            let filled = try reader.nextBlock(into: storage)
            if filled == 0 { break }
            let block = UnsafeBufferPointer(rebasing: storage[0..<filled])
            let warm = min(max(warmup - total, 0), block.count)
            let parts = [(UnsafeBufferPointer(rebasing: block[0..<warm]), false),
                         (UnsafeBufferPointer(rebasing: block[warm...]), true)].filter { !$0.0.isEmpty }
            let box = BlockBox(parts: parts)
            if threads <= 1 || runs.count <= 1 {
                for run in runs { for (p, counted) in box.parts { run.replay(p, counted: counted) } }
            } else {
                let next = Counter()
                DispatchQueue.concurrentPerform(iterations: min(threads, runs.count)) { _ in
                    while true {
                        let i = next.take()
                        if i >= runs.count { return }
                        for (p, counted) in box.parts { runs[i].replay(p, counted: counted) }
                    }
                }
            }
            total += block.count
            progress?(reader.fractionRead, total)
            if filled < blockSize { break }
        }
        return total
    }
}

/// Read-only views of the current block, shared by the workers while the block is alive.
private struct BlockBox: @unchecked Sendable {
    let parts: [(UnsafeBufferPointer<TraceRequest>, Bool)]
}

import Synchronization

/// Hands out simulation indices to workers.
private final class Counter: Sendable {
    private let value = Atomic<Int>(0)
    func take() -> Int { value.add(1, ordering: .relaxed).oldValue }
}
