/// W-TinyLFU (Einziger, Friedman and Manes, 2017): a small LRU window in front of a
/// segmented-LRU main area, with TinyLFU admission between them.
///
/// Parameters: the window holds 1% of the capacity; the main area is split 80% protected /
/// 20% probation. New objects enter the window. Window overflow moves into probation while the
/// main area has room; once it is full, the window's LRU object (when the window is at its
/// size) competes with probation's LRU object and the one the ``FrequencySketch`` deems less
/// popular leaves (the incumbent wins ties). A hit in probation promotes to protected; protected's overflow is
/// demoted back to probation. Every request (hit or miss) is recorded in the sketch; misses
/// reach it through ``willMiss(key:size:)``, which the simulator calls.
public struct WTinyLFUPolicy: PersistablePolicy, Sendable {
    /// "w-tinylfu".
    public static let name = "w-tinylfu"

    private enum Region: UInt8 { case window, probation, protected }
    private let windowTarget: Int
    private let mainTarget: Int
    private let protectedTarget: Int
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
    private var sketch = FrequencySketch()

    /// A policy for `capacity` units.
    public init(capacity: Int) {
        windowTarget = max(1, capacity / 100)
        mainTarget = max(1, capacity - windowTarget)
        // A store's capacity may be as large as an Int holds: divide first there.
        protectedTarget = mainTarget <= Int.max / 8 ? mainTarget * 8 / 10 : mainTarget / 10 * 8
    }

    /// Links for three lists, region, key and size per slot, plus the sketch's share.
    public var metadataBytesPerObject: Int {
        SlotList.bytesPerSlot * 3 + 1 + 8 + 8 + Int(sketch.bytesPerObject.rounded(.up))
    }

    /// The sketch's popularity estimate for `key`.
    public func estimate(_ key: UInt64) -> Int { sketch.estimate(key) }

    public mutating func willMiss(key: UInt64, size: Int) { sketch.increment(key) }

    public mutating func insert(_ slot: UInt32, key: UInt64, size: Int, expiresAt: Int64) {
        region.ensureIndex(slot, filler: .window)
        keys.ensureIndex(slot, filler: 0)
        sizes.ensureIndex(slot, filler: 0)
        let s = Int(slot)
        keys[s] = key
        sizes[s] = size
        region[s] = .window
        window.pushHead(slot)
        windowBytes += size
        tracked += 1
        sketch.ensureCapacity(objects: tracked)
    }

    public mutating func access(_ slot: UInt32) {
        let s = Int(slot)
        sketch.increment(keys[s])
        switch region[s] {
        case .window:
            window.moveToHead(slot)
        case .protected:
            protected.moveToHead(slot)
        case .probation:
            probation.remove(slot)
            probationBytes -= sizes[s]
            region[s] = .protected
            protected.pushHead(slot)
            protectedBytes += sizes[s]
            while protectedBytes > protectedTarget, protected.count > 1, let d = protected.popTail() {
                protectedBytes -= sizes[Int(d)]
                region[Int(d)] = .probation
                probation.pushHead(d)
                probationBytes += sizes[Int(d)]
            }
        }
    }

    public mutating func remove(_ slot: UInt32) {
        let s = Int(slot)
        switch region[s] {
        case .window: window.remove(slot); windowBytes -= sizes[s]
        case .probation: probation.remove(slot); probationBytes -= sizes[s]
        case .protected: protected.remove(slot); protectedBytes -= sizes[s]
        }
        tracked -= 1
    }

    /// The window, probation and protected, each least recently used first; the value is the
    /// region (0 window, 1 probation, 2 protected).
    public func persistentState() -> [(slot: UInt32, value: UInt32)] {
        window.fromTail().map { ($0, 0) } + probation.fromTail().map { ($0, 1) } + protected.fromTail().map { ($0, 2) }
    }

    public mutating func restore(_ slot: UInt32, key: UInt64, size: Int, expiresAt: Int64, value: UInt32) {
        region.ensureIndex(slot, filler: .window)
        keys.ensureIndex(slot, filler: 0)
        sizes.ensureIndex(slot, filler: 0)
        let s = Int(slot)
        keys[s] = key
        sizes[s] = size
        switch value {
        case 1: region[s] = .probation; probation.pushHead(slot); probationBytes += size
        case 2: region[s] = .protected; protected.pushHead(slot); protectedBytes += size
        default: region[s] = .window; window.pushHead(slot); windowBytes += size
        }
        tracked += 1
    }

    /// The sketch, counters and doorkeeper whole (``FrequencySketch/words``).
    public func persistentExtras() -> PolicyExtras { PolicyExtras(words: sketch.words) }

    /// A sketch that does not decode, or covers fewer keys than are tracked, starts empty.
    public mutating func restoreExtras(_ extras: PolicyExtras) {
        if let saved = FrequencySketch(words: extras.words) { sketch = saved }
        sketch.ensureCapacity(objects: tracked)
    }

    private mutating func admitToProbation(_ slot: UInt32) {
        region[Int(slot)] = .probation
        probation.pushHead(slot)
        probationBytes += sizes[Int(slot)]
    }

    public mutating func evict() -> UInt32? {
        // Window overflow moves into the main area while it has room.
        while windowBytes > windowTarget, window.tail != noSlot,
              probationBytes + protectedBytes + sizes[Int(window.tail)] <= mainTarget {
            let c = window.tail
            window.remove(c)
            windowBytes -= sizes[Int(c)]
            admitToProbation(c)
        }
        let candidate = window.tail
        let incumbent = probation.tail != noSlot ? probation.tail : protected.tail
        if candidate != noSlot && (windowBytes >= windowTarget || incumbent == noSlot) {
            // The window is full (the object about to be inserted will overflow it): its LRU
            // object may only enter the main area by beating the main area's victim.
            if incumbent != noSlot && sketch.estimate(keys[Int(candidate)]) > sketch.estimate(keys[Int(incumbent)]) {
                remove(incumbent)
                window.remove(candidate)
                windowBytes -= sizes[Int(candidate)]
                admitToProbation(candidate)
                return incumbent
            }
            remove(candidate)
            return candidate
        }
        if incumbent != noSlot {
            remove(incumbent)
            return incumbent
        }
        if candidate != noSlot {
            remove(candidate)
            return candidate
        }
        return nil
    }
}
