import LogCache

/// LHD, Least Hit Density (Beckmann, Chen and Cidon, NSDI 2018), as libCacheSim's LHD with
/// `associativity=32,admission=8`:
/// - each object's *hit density* is the expected hits per unit of space and time of objects of
///   its class at its age (age counted in requests, coarsened by a shift), divided by its size;
///   a class is the sum of the object's last two hit ages, on a log scale (16 classes);
/// - to make room, a sample of cached objects (8 until 50 reconfigurations have passed, then
///   32, drawn with replacement) and the last 8 admitted objects that looked like victims are
///   compared, and the one of least density leaves;
/// - every 2^20 requests the hits and evictions seen per class and age (decayed by 0.9 each
///   time) are turned into new densities; at the 5th and 25th reconfiguration the age
///   coarsening is fitted to the number of cached objects;
/// - 1 in 32 objects inserted while fewer than 50 reconfigurations have passed is an
///   *explorer* (density + 1, so it is hardly ever evicted), within 1% of the capacity.
///
/// libCacheSim's version draws from its MMIX generator and computes in single precision; this
/// draws from the same generator as often and at the same points, and computes in the same
/// single-precision steps, so that its choices and counts are libCacheSim's. As in
/// libCacheSim, a hit whose size differs from the cached object's takes the new size (the
/// occupancy follows it, without evicting until the next miss): that is why this is a
/// ``StandalonePolicy`` and keeps its own account of what is cached.
public struct LHDPolicy: StandalonePolicy, Sendable {
    /// "lhd".
    public static let name = "lhd"
    /// libCacheSim's `associativity`: objects sampled per eviction once the model has settled.
    public static let associativity = 32
    /// libCacheSim's `admission`: recently admitted objects considered at every eviction.
    public static let admissions = 8

    private static let hitAgeClasses = 16
    /// Every object is of application 1 (libCacheSim's `DEFAULT_APP_ID` % 16), so only the
    /// 16 classes from 16 × 1 are ever used; only those are kept.
    private static let firstClass = 16
    private static let maxAge = 20_000
    private static let requestsPerReconfiguration = 1 << 20
    private static let decay: Float = 0.9
    private static let explorerBudgetFraction: Float = 0.01
    private static let exploreInverseProbability: UInt64 = 32
    private static let ageCoarseningErrorTolerance: Float = 0.01

    private struct Tag {
        var timestamp: UInt64
        var lastHitAge: UInt64
        var lastLastHitAge: UInt64
        var key: UInt64
        /// The size as libCacheSim's tag holds it (single precision).
        var size: Float
        /// The size as its size map holds it (32 bits), which the occupancy counts.
        var storedSize: UInt32
        var explorer: Bool
    }

    private let capacity: Int
    private var rng = MMIXGenerator()
    private var tags: [Tag] = []
    private var indices = KeySlotMap(capacity: 1 << 12)
    /// Per class (16) and age (`maxAge`), flattened: hits and evictions seen, and the model.
    private var hits: [Float]
    private var evictions: [Float]
    private var hitDensities: [Float]
    private var occupied = 0
    private var timestamp: UInt64 = 0
    private var nextReconfiguration = LHDPolicy.requestsPerReconfiguration
    private var reconfigurations = 0
    private var ageCoarseningShift: UInt64 = 10
    private var ewmaObjects: Float = 0
    private var ewmaObjectsMass: Float = 0
    /// Keys admitted lately that looked like victims (nil: no key yet in that place).
    private var recentlyAdmitted = [UInt64?](repeating: nil, count: LHDPolicy.admissions)
    private var recentlyAdmittedHead = 0
    private var ewmaVictimHitDensity: Float = 0
    private var explorerBudget: Int64

    /// An empty cache of `capacity` units, its model started as libCacheSim starts it (a
    /// density of (class + 1) / (age + 1), GDSF-like).
    public init(capacity: Int) {
        self.capacity = capacity
        explorerBudget = Self.truncatingInt64(Float(capacity) * Self.explorerBudgetFraction)
        let cells = Self.hitAgeClasses * Self.maxAge
        hits = [Float](repeating: 0, count: cells)
        evictions = [Float](repeating: 0, count: cells)
        hitDensities = [Float](repeating: 0, count: cells)
        for c in 0..<Self.hitAgeClasses {
            for a in 0..<Self.maxAge {
                hitDensities[c * Self.maxAge + a] =
                    Float(1.0 * Double(Self.firstClass + c + 1) / Double(a + 1))
            }
        }
    }

    public var metadataBytesPerObject: Int { MemoryLayout<Tag>.stride + 16 }

    public mutating func request(_ key: UInt64, size: Int) -> Bool {
        let index = indices.find(key)
        if index != noSlot {
            let i = Int(index)
            let stored = UInt32(truncatingIfNeeded: size)
            if tags[i].storedSize != stored {
                occupied += Int(stored) - Int(tags[i].storedSize)
                tags[i].storedSize = stored
            }
            update(at: i, size: size)
            return true
        }
        guard size <= capacity else { return false }
        while occupied + size > capacity, !tags.isEmpty {
            evict()
        }
        let i = tags.count
        tags.append(Tag(timestamp: 0, lastHitAge: 0, lastLastHitAge: UInt64(Self.maxAge), key: key,
                        size: 0, storedSize: UInt32(truncatingIfNeeded: size), explorer: false))
        indices.set(key, UInt32(i))
        occupied += Int(UInt32(truncatingIfNeeded: size))
        update(at: i, size: size, inserted: true)
        return false
    }

    // MARK: The model

    @inline(__always)
    private static func hitAgeClass(_ age: UInt64) -> Int {
        if age == 0 { return hitAgeClasses - 1 }
        var age = age
        var log = 0
        while age < UInt64(maxAge) && log < hitAgeClasses - 1 {
            age <<= 1
            log += 1
        }
        return log
    }

    @inline(__always)
    private static func classIndex(_ tag: Tag) -> Int {
        hitAgeClass(tag.lastHitAge &+ tag.lastLastHitAge)
    }

    @inline(__always)
    private func age(_ tag: Tag) -> Int {
        let age = (timestamp &- tag.timestamp) >> ageCoarseningShift
        return age >= UInt64(Self.maxAge) ? Self.maxAge - 1 : Int(age)
    }

    @inline(__always)
    private func hitDensity(_ tag: Tag) -> Float {
        let a = age(tag)
        if a == Self.maxAge - 1 { return -Float.greatestFiniteMagnitude }
        var density = hitDensities[Self.classIndex(tag) * Self.maxAge + a] / tag.size
        if tag.explorer { density += 1 }
        return density
    }

    /// libCacheSim's `update`: a hit's statistics, the object's new timestamp and size,
    /// perhaps the explorer flag, and every 2^20 requests a reconfiguration.
    private mutating func update(at i: Int, size: Int, inserted: Bool = false) {
        if !inserted {
            let tag = tags[i]
            let a = age(tag)
            hits[Self.classIndex(tag) * Self.maxAge + a] += 1
            if tag.explorer { explorerBudget = Self.adding(tag.size, to: explorerBudget) }
            tags[i].lastLastHitAge = tag.lastHitAge
            tags[i].lastHitAge = UInt64(a)
        }
        tags[i].timestamp = timestamp
        tags[i].size = Float(size)
        let explore = rng.next() % Self.exploreInverseProbability == 0
        if explore && explorerBudget > 0 && reconfigurations < 50 {
            tags[i].explorer = true
            explorerBudget = Self.adding(-tags[i].size, to: explorerBudget)
        } else {
            tags[i].explorer = false
        }
        if inserted && !explore && hitDensity(tags[i]) < ewmaVictimHitDensity {
            recentlyAdmitted[recentlyAdmittedHead % Self.admissions] = tags[i].key
            recentlyAdmittedHead &+= 1
        }
        timestamp &+= 1
        nextReconfiguration -= 1
        if nextReconfiguration == 0 {
            reconfigure()
            nextReconfiguration = Self.requestsPerReconfiguration
            reconfigurations += 1
        }
    }

    /// libCacheSim's `rank` and `replaced`: the sampled object of least density leaves.
    private mutating func evict() {
        var victim = -1
        var victimRank = Float.greatestFiniteMagnitude
        let candidates = reconfigurations > 50 ? Self.associativity : 8
        let count = UInt64(tags.count)
        var firstSample = 0
        for n in 0..<candidates {
            let i = Int(rng.next() % count)
            if n == 0 { firstSample = i }
            let rank = hitDensity(tags[i])
            if rank < victimRank {
                victim = i
                victimRank = rank
            }
        }
        for case let key? in recentlyAdmitted {
            let index = indices.find(key)
            if index == noSlot { continue }
            let i = Int(index)
            let rank = hitDensity(tags[i])
            if rank < victimRank {
                victim = i
                victimRank = rank
            }
        }
        // Every density is below the greatest float but a NaN or an infinity, which a size
        // of 0 makes (this simulator replays requests of size 0, which libCacheSim's readers
        // skip); libCacheSim would index past its array there, so the first sample leaves.
        if victim < 0 { victim = firstSample }
        ewmaVictimHitDensity = Self.decay * ewmaVictimHitDensity + (1 - Self.decay) * victimRank

        let tag = tags[victim]
        evictions[Self.classIndex(tag) * Self.maxAge + age(tag)] += 1
        if tag.explorer { explorerBudget = Self.adding(tag.size, to: explorerBudget) }
        occupied -= Int(tag.storedSize)
        _ = indices.remove(tag.key)
        let last = tags.removeLast()
        if victim < tags.count {
            tags[victim] = last
            indices.set(last.key, UInt32(victim))
        }
    }

    private mutating func reconfigure() {
        for c in 0..<Self.hitAgeClasses {
            let base = c * Self.maxAge
            for a in 0..<Self.maxAge {
                hits[base + a] *= Self.decay
                evictions[base + a] *= Self.decay
            }
        }
        adaptAgeCoarsening()
        modelHitDensity()
    }

    private mutating func modelHitDensity() {
        let m = Self.maxAge
        for c in 0..<Self.hitAgeClasses {
            let base = c * m
            var totalEvents = hits[base + m - 1] + evictions[base + m - 1]
            var totalHits = hits[base + m - 1]
            var lifetimeUnconditioned = totalEvents
            for a in stride(from: m - 2, through: 0, by: -1) {
                totalHits += hits[base + a]
                totalEvents += hits[base + a] + evictions[base + a]
                lifetimeUnconditioned += totalEvents
                hitDensities[base + a] = Double(totalEvents) > 1e-5 ? totalHits / lifetimeUnconditioned : 0
            }
        }
    }

    private mutating func adaptAgeCoarsening() {
        ewmaObjects *= Self.decay
        ewmaObjectsMass *= Self.decay
        ewmaObjects += Float(tags.count)
        ewmaObjectsMass += 1
        let objects = ewmaObjects / ewmaObjectsMass
        let optimal = Float(1.0 * Double(objects) / Double(Self.ageCoarseningErrorTolerance * Float(Self.maxAge)))
        guard reconfigurations == 5 || reconfigurations == 25 else { return }
        var log2: UInt64 = 1
        while Float(UInt32(truncatingIfNeeded: 1 << log2)) < optimal, log2 < 31 { log2 += 1 }
        let delta = Int(log2) - Int(ageCoarseningShift)
        ageCoarseningShift = log2
        ewmaObjects *= 8
        ewmaObjectsMass *= 8
        let m = Self.maxAge
        if delta < 0 {
            let shift = -delta
            let scale = Float(1 << shift)
            for c in 0..<Self.hitAgeClasses {
                let base = c * m
                for a in (m >> shift)..<(m - 1) {
                    hits[base + m - 1] += hits[base + a]
                    evictions[base + m - 1] += evictions[base + a]
                }
                for a in stride(from: m - 2, through: 0, by: -1) {
                    hits[base + a] = hits[base + (a >> shift)] / scale
                    evictions[base + a] = evictions[base + (a >> shift)] / scale
                }
            }
        } else if delta > 0 {
            for c in 0..<Self.hitAgeClasses {
                let base = c * m
                for a in 0..<(m >> delta) {
                    hits[base + a] = hits[base + (a << delta)]
                    evictions[base + a] = evictions[base + (a << delta)]
                    for i in 1..<(1 << delta) {
                        hits[base + a] += hits[base + (a << delta) + i]
                        evictions[base + a] += evictions[base + (a << delta) + i]
                    }
                }
                for a in (m >> delta)..<(m - 1) {
                    hits[base + a] = 0
                    evictions[base + a] = 0
                }
            }
        }
    }

    // MARK: libCacheSim's mixed arithmetic

    /// `budget += size` where the budget is a 64-bit integer and the size a float: C adds in
    /// single precision and truncates back.
    @inline(__always)
    private static func adding(_ size: Float, to budget: Int64) -> Int64 {
        truncatingInt64(Float(budget) + size)
    }

    @inline(__always)
    private static func truncatingInt64(_ x: Float) -> Int64 {
        guard x.isFinite else { return x > 0 ? Int64.max : Int64.min }
        if x >= 9.2e18 { return Int64.max }
        if x <= -9.2e18 { return Int64.min }
        return Int64(x)
    }
}
