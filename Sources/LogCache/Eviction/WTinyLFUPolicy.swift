/// W-TinyLFU (Einziger, Friedman and Manes, 2017) as libCacheSim runs it: an LRU window in
/// front of a segmented-LRU main area, with TinyLFU admission between them.
///
/// Parameters, libCacheSim's defaults: the window's share is 1% of the capacity, the main
/// area the rest, split 1:4 into probation (20%) and protected (80%). The window's share only
/// bounds what may be cached (``canInsert(size:)``: nothing larger than the window or
/// probation); the window itself holds whatever the main area does not take.
///
/// - A new object enters the window's head. A hit in the window moves it to the head; a hit
///   in probation promotes it to protected's head, protected's overflow goes back to
///   probation's head, and probation's overflow leaves the cache (the hit evicts). A hit in
///   protected moves it to the head.
/// - The sketch counts every insertion, every hit in the main area, and every window object an
///   eviction looks at; it is halved after 32 × the main area's units of main-area hits.
/// - To make room: while the window holds anything, its LRU object moves into the main area if
///   that has room for it; otherwise it competes with the main area's victim (probation's LRU
///   object, or protected's when probation is empty) and the one the sketch rates lower
///   leaves (the victim wins ties). An admission goes on to the window's next object; a
///   rejection ends the round. With the window empty, the main area's victim leaves.
/// - An object entering the main area goes into probation if that has room, else protected if
///   that has, else the main area's victims leave until it fits and it goes into probation.
///
/// One round of eviction may evict several objects, and a hit may evict: victims beyond the
/// one ``evict()`` returns wait in a queue that ``evictBeforeInsert()`` and
/// ``evictAfterAccess()`` empty (a store empties it at its next write).
public struct WTinyLFUPolicy: PersistablePolicy, Sendable {
    /// "w-tinylfu".
    public static let name = "w-tinylfu"

    private enum Region: UInt8 { case window, probation, protected, leaving }
    /// The window's share (and the largest object cached).
    public let windowTarget: Int
    /// The main area's share: the capacity less the window's.
    public let mainTarget: Int
    /// Probation's share of the main area: one fifth of it.
    public let probationTarget: Int
    /// Protected's share of the main area: four fifths of it.
    public let protectedTarget: Int
    private let agingPeriod: Int
    private var window = SlotList()
    private var probation = SlotList()
    private var protected = SlotList()
    private var region: [Region] = []
    private var keys: [UInt64] = []
    private var sizes: [Int] = []
    private var windowBytes = 0
    private var probationBytes = 0
    private var protectedBytes = 0
    private var tracked = 0
    private var mainHits = 0
    private var sketch = FrequencySketch()
    /// Victims chosen beyond the one an ``evict()`` call returned, oldest first.
    private var leaving: [UInt32] = []
    private var leavingStart = 0

    /// A policy for `capacity` units, split as libCacheSim splits it (shares truncated).
    public init(capacity: Int) {
        windowTarget = Int(Double(capacity) * 0.01)
        mainTarget = capacity - windowTarget
        probationTarget = Int(1.0 / 5.0 * Double(mainTarget))
        protectedTarget = Int(4.0 / 5.0 * Double(mainTarget))
        // libCacheSim halves after 32 samples per unit of the main area; saturating, since a
        // store's capacity may be as large as an Int holds.
        let (period, overflow) = mainTarget.multipliedReportingOverflow(by: 32)
        agingPeriod = overflow ? .max : max(period, 1)
    }

    /// Links for three lists, region, key and size per slot, plus the sketch's share.
    public var metadataBytesPerObject: Int {
        SlotList.bytesPerSlot * 3 + 1 + 8 + 8 + Int(sketch.bytesPerObject.rounded(.up))
    }

    /// The sketch's popularity estimate for `key`.
    public func estimate(_ key: UInt64) -> Int { sketch.estimate(key) }

    private var mainBytes: Int { probationBytes &+ protectedBytes }

    /// Nothing larger than the window's or probation's share is cached (libCacheSim's rule).
    public func canInsert(size: Int) -> Bool { size <= windowTarget && size <= probationTarget }

    public mutating func insert(_ slot: UInt32, key: UInt64, size: Int, expiresAt: Int64) {
        remember(slot, key: key, size: size)
        put(slot, in: .window)
        sketch.ensureCapacity(objects: tracked)
        sketch.increment(key)
    }

    /// Keeps an object's key and size by its slot.
    private mutating func remember(_ slot: UInt32, key: UInt64, size: Int) {
        region.ensureIndex(slot, filler: .window)
        keys.ensureIndex(slot, filler: 0)
        sizes.ensureIndex(slot, filler: 0)
        keys[Int(slot)] = key
        sizes[Int(slot)] = size
    }

    /// Puts an object that is in no list at the head of `target`'s (not ``Region/leaving``).
    private mutating func put(_ slot: UInt32, in target: Region) {
        let size = sizes[Int(slot)]
        region[Int(slot)] = target
        switch target {
        case .window: window.pushHead(slot); windowBytes += size
        case .probation: probation.pushHead(slot); probationBytes += size
        case .protected: protected.pushHead(slot); protectedBytes += size
        case .leaving: return
        }
        tracked += 1
    }

    public mutating func access(_ slot: UInt32) {
        let s = Int(slot)
        switch region[s] {
        case .window:
            window.moveToHead(slot)
            return
        case .leaving:
            return
        case .protected:
            protected.moveToHead(slot)
        case .probation:
            take(slot)
            put(slot, in: .protected)
            // While the hit object's segment is over its share: protected's LRU object goes
            // back to probation, and probation's overflow leaves, after each move.
            while true {
                if region[s] == .protected, protectedBytes > protectedTarget, protected.tail != noSlot {
                    let d = protected.tail
                    take(d)
                    put(d, in: .probation)
                    trimProbation()
                } else if region[s] == .probation, probationBytes > probationTarget {
                    trimProbation()
                } else {
                    break
                }
            }
        }
        sketch.increment(keys[s])
        mainHits += 1
        if mainHits >= agingPeriod {
            mainHits = 0
            sketch.halve()
        }
    }

    public mutating func remove(_ slot: UInt32) {
        if region[Int(slot)] == .leaving {
            // A victim still queued: it no longer leaves, it is gone already.
            if let i = leaving[leavingStart...].firstIndex(of: slot) { leaving.remove(at: i) }
            return
        }
        take(slot)
    }

    /// Probation's LRU objects leave while it is over its share.
    private mutating func trimProbation() {
        while probationBytes > probationTarget, probation.tail != noSlot { leave(probation.tail) }
    }

    /// Takes a cached object out of its list.
    private mutating func take(_ slot: UInt32) {
        let s = Int(slot)
        switch region[s] {
        case .window: window.remove(slot); windowBytes -= sizes[s]
        case .probation: probation.remove(slot); probationBytes -= sizes[s]
        case .protected: protected.remove(slot); protectedBytes -= sizes[s]
        case .leaving: return
        }
        tracked -= 1
    }

    /// Takes a cached object out of its list and queues it to leave.
    private mutating func leave(_ slot: UInt32) {
        take(slot)
        markLeaving(slot)
    }

    private mutating func markLeaving(_ slot: UInt32) {
        region[Int(slot)] = .leaving
        leaving.append(slot)
    }

    /// The next queued victim, if any.
    private mutating func nextLeaving() -> UInt32? {
        guard leavingStart < leaving.count else { return nil }
        let v = leaving[leavingStart]
        leavingStart += 1
        if leavingStart == leaving.count {
            leaving.removeAll(keepingCapacity: true)
            leavingStart = 0
        }
        return v
    }

    public mutating func evictBeforeInsert() -> UInt32? { nextLeaving() }
    public mutating func evictAfterAccess() -> UInt32? { nextLeaving() }

    /// The main area's victim: probation's LRU object, or protected's when probation is empty.
    private var mainVictim: UInt32 { probationBytes > 0 || protected.tail == noSlot ? probation.tail : protected.tail }

    /// Puts a window object (already taken out) into the main area, evicting from it when
    /// neither segment has room.
    private mutating func enterMain(_ slot: UInt32) {
        let size = sizes[Int(slot)]
        if probationBytes + size <= probationTarget {
            put(slot, in: .probation)
        } else if protectedBytes + size <= protectedTarget {
            put(slot, in: .protected)
        } else {
            while mainBytes + size > mainTarget, mainVictim != noSlot { leave(mainVictim) }
            put(slot, in: .probation)
        }
    }

    public mutating func evict() -> UInt32? {
        if let queued = nextLeaving() { return queued }
        // One round: admissions until a window object is turned away, or the window is empty,
        // when the main area's victim leaves.
        var turnedAway = false
        while window.tail != noSlot {
            let w = window.tail
            let wKey = keys[Int(w)]
            if mainBytes + sizes[Int(w)] <= mainTarget {
                take(w)
                enterMain(w)
            } else if mainVictim != noSlot, sketch.estimate(wKey) > sketch.estimate(keys[Int(mainVictim)]) {
                leave(mainVictim)
                take(w)
                enterMain(w)
            } else {
                leave(w)
                sketch.increment(wKey)
                turnedAway = true
                break
            }
            sketch.increment(wKey)
        }
        if !turnedAway, mainVictim != noSlot { leave(mainVictim) }
        return nextLeaving()
    }

    /// The window, probation and protected, each least recently used first, then the queued
    /// victims; the value is the region (0 window, 1 probation, 2 protected, 3 leaving).
    public func persistentState() -> [(slot: UInt32, value: UInt32)] {
        window.fromTail().map { ($0, 0) } + probation.fromTail().map { ($0, 1) } + protected.fromTail().map { ($0, 2) }
            + leaving[leavingStart...].map { ($0, 3) }
    }

    public mutating func restore(_ slot: UInt32, key: UInt64, size: Int, expiresAt: Int64, value: UInt32) {
        remember(slot, key: key, size: size)
        switch value {
        case 1: put(slot, in: .probation)
        case 2: put(slot, in: .protected)
        case 3: markLeaving(slot)
        default: put(slot, in: .window)
        }
    }

    /// The main-area hits since the last halving, then the sketch (``FrequencySketch/words``).
    public func persistentExtras() -> PolicyExtras { PolicyExtras(words: [UInt64(mainHits)] + sketch.words) }

    /// A sketch that does not decode starts empty (as wide as the tracked objects need).
    public mutating func restoreExtras(_ extras: PolicyExtras) {
        if let hits = extras.words.first, hits < UInt64(agingPeriod),
           let saved = FrequencySketch(words: Array(extras.words.dropFirst())) {
            mainHits = Int(hits)
            sketch = saved
        }
        sketch.ensureCapacity(objects: tracked)
    }
}
