import Dispatch
import Synchronization

/// A store's compaction: the pass that runs one at a time, the background queue and the
/// counters. It works on the log and the index it is given, never on the store. Passes
/// remember nothing between them: what a pass decides follows from the files, so every
/// process and every restart decides the same.
final class Compactor: Sendable {
    let options: CompactionOptions
    let log: SegmentLog
    let index: StoreIndex
    let counters: Counters
    let clock: any CacheClock
    let segmentSize: Int
    /// Held for the whole of a pass; counts the passes begun. Not a `Lock<Void>`: a value of
    /// no size sits at the object's own address, and ThreadSanitizer takes a change of it under
    /// the lock and another thread's read of the object's header for a race.
    let pass = Lock<Int>(0)
    /// Set by `close()`: a running pass stops at its next record, a queued one does not start.
    let stopping = Atomic<Bool>(false)
    /// A background pass is queued and has not started.
    let scheduled = Atomic<Bool>(false)
    let queue = DispatchQueue(label: "LogCache.compaction", qos: .utility)
    /// The removals of retired segments' files, which run after their pass (``removeFiles(of:segments:)``).
    private let removals = DispatchGroup()
    /// One thread removes the retired files of every store, one file after another.
    private static let removalQueue = DispatchQueue(label: "LogCache.removal", qos: .utility)

    let passes = Atomic<Int>(0)
    let bytesWritten = Atomic<Int>(0)
    let bytesFreed = Atomic<Int>(0)
    let failures = Atomic<Int>(0)
    /// Where passes and failed background passes are told.
    let events: StoreEvents

    init(options: CompactionOptions, log: SegmentLog, index: StoreIndex, counters: Counters, clock: any CacheClock,
         segmentSize: Int) {
        events = log.context.events
        self.options = options
        self.log = log
        self.index = index
        self.counters = counters
        self.clock = clock
        self.segmentSize = segmentSize
    }

    /// Queues a background pass unless one is queued already; the pass itself decides
    /// whether the triggers have passed.
    func schedule() {
        guard options.automatic, !stopping.load(ordering: .relaxed),
              scheduled.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        else { return }
        queue.async { [weak self] in
            guard let self else { return }
            self.scheduled.store(false, ordering: .releasing)
            do throws(CacheError) {
                let summary = try self.run(onDemand: false, progress: nil)
                if summary.segmentsRewritten > 0 { self.events.compacted(summary, onDemand: false) }
            } catch .closed {
                // The store closed under the pass, which stopped cleanly.
            } catch {
                self.failures.add(1, ordering: .relaxed)
                self.events.compactionFailed(error)
            }
        }
    }

    /// Stops background compaction and waits for a running pass to end.
    func stop() {
        stopping.store(true, ordering: .releasing)
        pass.withLock { _ in }
        waitForRemovals()
    }

    /// Removes the files of segments a pass retired, on a background thread, after dropping
    /// `segments` there too: the kernel frees a file's pages when it goes, about 40 ms for
    /// 64 MiB here (70 ms when mapped), which would otherwise hold the pass, and the
    /// compaction lock with it, for most of its time.
    ///
    /// Nothing names these files any more, so nothing is lost when a removal fails or the
    /// process dies first: the next open removes files that no manifest names. ``stop()``
    /// (at `close()`) waits for the removals, and so does ``waitForRemovals()``.
    func removeFiles(of ids: [UInt32], segments: [Segment]) {
        let dir = log.dir
        nonisolated(unsafe) var held = segments
        Self.removalQueue.async(group: removals) {
            for id in ids { try? dir.removeSegment(id) }
            try? dir.sync()
            // The last reference of a mapped segment goes here, not on the pass's thread.
            held.removeAll()
        }
    }

    /// Returns once the files of every pass so far are removed.
    func waitForRemovals() { removals.wait() }

    /// Runs one pass: chooses runs of sealed segments, copies them, publishes one manifest,
    /// retires the old segments. On demand it waits for a pass in another process and first
    /// seals the active segment when it holds dead bytes; in the background it gives way.
    func run(onDemand: Bool, progress: ((CompactionProgress) -> Void)?) throws(CacheError) -> CompactionSummary {
        try pass.withLock { begun throws(CacheError) -> CompactionSummary in
            begun += 1
            let started = ContinuousClock.now
            guard !stopping.load(ordering: .acquiring) else { throw .closed }
            // One process compacts at a time; a background pass gives way to a running one.
            if onDemand {
                try log.locks.compact.lockExclusive()
            } else if try !log.locks.compact.tryLockExclusive() {
                let now = index.footprint
                return .nothing(segments: now.segments, bytes: now.bytes, seconds: seconds(since: started))
            }
            defer { log.locks.compact.unlock() }
            // Liveness is judged by this handle's index: it must know every record written so far.
            try log.catchUpIfBehind()
            let before = index.footprint
            let (order, sealed) = try candidates(onDemand: onDemand)
            let runs = CompactionPlan.runs(sealed: sealed, options: options, segmentSize: segmentSize, onDemand: onDemand)
            guard !runs.isEmpty else {
                return .nothing(segments: before.segments, bytes: before.bytes, seconds: seconds(since: started))
            }
            var pass = CompactionPass(compactor: self, oldest: order.first, progress: progress,
                                      total: sealed.filter { s in runs.contains { $0.contains(s.id) } }.reduce(0) { $0 + $1.length })
            defer { if !pass.published { pass.discard() } }
            let copyStart = ContinuousClock.now
            for run in runs { try pass.copy(run: run) }
            let syncStart = ContinuousClock.now
            try pass.finish()
            let synced = ContinuousClock.now
            guard try pass.publish() else {
                // The segment set changed under the pass (everything was removed): nothing to do.
                return .nothing(segments: before.segments, bytes: before.bytes, seconds: seconds(since: started))
            }
            let freed = try pass.retire()
            let after = index.footprint
            let written = pass.outputs.reduce(0) { $0 + $1.bytesWritten }
            passes.add(1, ordering: .relaxed)
            bytesWritten.add(written, ordering: .relaxed)
            bytesFreed.add(freed, ordering: .relaxed)
            return CompactionSummary(
                segmentsBefore: before.segments, segmentsAfter: after.segments, bytesBefore: before.bytes,
                bytesAfter: after.bytes, segmentsRewritten: runs.reduce(0) { $0 + $1.count },
                liveBytesCopied: pass.liveBytesCopied, bytesWritten: written, bytesFreed: freed,
                seconds: seconds(since: started),
                copySeconds: Self.seconds(syncStart - copyStart), syncSeconds: Self.seconds(synced - syncStart),
                writeAmplification: freed > 0 ? 1 + Double(written) / Double(freed) : 0)
        }
    }

    /// The segment list in log order and the usage of each sealed segment. An on-demand pass
    /// first seals the active segment when it holds dead bytes, so that they can go too.
    private func candidates(onDemand: Bool) throws(CacheError) -> ([UInt32], [SegmentUsage]) {
        // Expired entries still in the index are dead space too.
        let expired = index.expiredBytes(at: clock.now())
        let index = self.index
        let order = try log.exclusively { w throws(CacheError) -> [UInt32] in
            if onDemand, w.active.length > SegmentHeader.size {
                let id = w.active.segment.id
                let live = index.liveBytes(inSegment: id) - (expired[id] ?? 0)
                if live < w.active.length - SegmentHeader.size {
                    try w.roll(indexingInto: index)
                    // The sealed segment's successor may need a pass of its own later.
                    schedule()
                }
            }
            // A pass asked for waits for the segment sealed last, so that it can go too; a
            // background pass leaves it for the next one.
            if onDemand { try w.finishPendingSeal() }
            return w.manifest.segments
        }
        let sealedIDs = Array(order.dropLast())
        var usage: [SegmentUsage] = []
        for (id, found) in zip(sealedIDs, index.usage(of: sealedIDs, expired: expired)) {
            // A segment whose file was lost at open cannot be rewritten, and one is sealed only
            // once its index file is there (its fsync comes first, ``PendingSeal``), whichever
            // process rolled it: either counts as full, which keeps it out of every run.
            let length = try found.segment?.file.size() ?? segmentSize
            let full = found.segment == nil || !log.dir.exists(Segment.indexFileName(id))
            usage.append(SegmentUsage(id: id, length: length, liveBytes: full ? length : found.live,
                                      pinnedBytes: found.pinned))
        }
        return (order, usage)
    }

    private func seconds(since start: ContinuousClock.Instant) -> Double {
        Self.seconds(ContinuousClock.now - start)
    }

    private static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}
