/// Compaction: the live records of sealed segments with much dead space are copied into new
/// segments that take their place, and the old files are removed.
///
/// A pass never blocks readers or writers for longer than a few index updates: it copies
/// without the writer lock, publishes the new segment set with one atomic manifest
/// replacement, then points index entries at the copies in small batches. Readers that
/// still hold an old segment keep reading it: an unlinked file stays readable while open.
extension CacheStore {
    /// Runs one compaction pass now: seals the active segment if it holds dead bytes, then
    /// rewrites every sealed segment that has any.
    ///
    /// Safe to call while other threads read and write; a pass already running (in the
    /// background, say) finishes first.
    ///
    /// - Parameter progress: called as the pass goes, from the calling thread.
    @discardableResult
    public func compact(progress: ((CompactionProgress) -> Void)? = nil) throws(CacheError) -> CompactionSummary {
        try compactionPass(onDemand: true, progress: progress)
    }

    /// Queues a background pass unless one is queued already; the pass itself decides
    /// whether the triggers have passed.
    func scheduleCompaction() {
        guard compactor.options.automatic, !compactor.stopping.load(ordering: .relaxed),
              compactor.scheduled.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        else { return }
        compactor.queue.async { [weak self] in
            guard let self else { return }
            self.compactor.scheduled.store(false, ordering: .releasing)
            do throws(CacheError) {
                _ = try self.compactionPass(onDemand: false, progress: nil)
            } catch .closed {
                // The store closed under the pass, which stopped cleanly.
            } catch {
                self.compactor.failures.add(1, ordering: .relaxed)
            }
        }
    }

    /// Stops background compaction and waits for a running pass to end.
    func stopCompaction() {
        compactor.stopping.store(true, ordering: .releasing)
        compactor.pass.withLock { _ in }
    }

    func compactionPass(onDemand: Bool, progress: ((CompactionProgress) -> Void)?) throws(CacheError) -> CompactionSummary {
        try compactor.pass.withLock { _ throws(CacheError) -> CompactionSummary in
            let started = ContinuousClock.now
            guard !compactor.stopping.load(ordering: .acquiring) else { throw .closed }
            // One process compacts at a time; a background pass gives way to a running one.
            if onDemand {
                try locks.compact.lockExclusive()
            } else if try !locks.compact.tryLockExclusive() {
                let now = footprint()
                return .nothing(segments: now.segments, bytes: now.bytes, seconds: seconds(since: started))
            }
            defer { locks.compact.unlock() }
            // Liveness is judged by this handle's index: it must know every record written so far.
            try catchUpIfNeeded()
            let before = footprint()
            let (order, sealed) = try compactionCandidates(onDemand: onDemand)
            let runs = CompactionPlan.runs(
                sealed: sealed, options: compactor.options, segmentSize: settings.segmentSize, onDemand: onDemand)
            guard !runs.isEmpty else {
                return .nothing(segments: before.segments, bytes: before.bytes, seconds: seconds(since: started))
            }
            var pass = CompactionPass(store: self, oldest: order.first, progress: progress,
                                      total: sealed.filter { s in runs.contains { $0.contains(s.id) } }.reduce(0) { $0 + $1.length })
            defer { if !pass.published { pass.discard() } }
            for run in runs { try pass.copy(run: run) }
            try pass.finish()
            guard try pass.publish() else {
                // The segment set changed under the pass (everything was removed): nothing to do.
                return .nothing(segments: before.segments, bytes: before.bytes, seconds: seconds(since: started))
            }
            let freed = try pass.retire()
            let after = footprint()
            let written = pass.outputs.reduce(0) { $0 + $1.bytesWritten }
            compactor.passes.add(1, ordering: .relaxed)
            compactor.bytesWritten.add(written, ordering: .relaxed)
            compactor.bytesFreed.add(freed, ordering: .relaxed)
            return CompactionSummary(
                segmentsBefore: before.segments, segmentsAfter: after.segments, bytesBefore: before.bytes,
                bytesAfter: after.bytes, segmentsRewritten: runs.reduce(0) { $0 + $1.count },
                liveBytesCopied: pass.liveBytesCopied, bytesWritten: written, bytesFreed: freed,
                seconds: seconds(since: started),
                writeAmplification: freed > 0 ? 1 + Double(written) / Double(freed) : 0)
        }
    }

    /// The segment list in log order and the usage of each sealed segment. An on-demand pass
    /// first seals the active segment when it holds dead bytes, so that they can go too.
    private func compactionCandidates(onDemand: Bool) throws(CacheError) -> ([UInt32], [SegmentUsage]) {
        let now = clock.now()
        // Expired entries still in the index are dead space too.
        let expired = state.read { $0.live.expiredBytes(at: now) }
        let order = try exclusively { w throws(CacheError) -> [UInt32] in
            if onDemand, w.active.length > SegmentHeader.size {
                let id = w.active.segment.id
                let live = state.read { $0.live.segmentLiveBytes[id] ?? 0 } - (expired[id] ?? 0)
                if live < w.active.length - SegmentHeader.size { try roll(&w) }
            }
            return w.manifest.segments
        }
        let sealedIDs = Array(order.dropLast())
        let found = state.read { s in
            sealedIDs.enumerated().map { i, id in
                // Tombstones of the first segment go with any run that starts there: dead space.
                (s.segments[id], (s.live.segmentLiveBytes[id] ?? 0) - (expired[id] ?? 0),
                 i == 0 ? 0 : s.live.segmentTombstoneBytes[id] ?? 0)
            }
        }
        var usage: [SegmentUsage] = []
        for (id, (segment, live, pinned)) in zip(sealedIDs, found) {
            // A segment whose file was lost at open cannot be rewritten: it counts as full,
            // which keeps it out of every run.
            let length = try segment?.file.size() ?? settings.segmentSize
            usage.append(SegmentUsage(id: id, length: length, liveBytes: segment == nil ? length : live,
                                      pinnedBytes: pinned))
        }
        return (order, usage)
    }

    private func footprint() -> (segments: Int, bytes: Int) {
        state.read { s in (s.segments.count, s.diskBytes) }
    }

    private func seconds(since start: ContinuousClock.Instant) -> Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}
