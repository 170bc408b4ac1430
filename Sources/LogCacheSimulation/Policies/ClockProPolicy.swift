import LogCache

/// CLOCK-Pro (Jiang, Chen and Zhang, USENIX ATC 2005), adaptive, from the paper: LIRS's
/// distinction between hot pages (short reuse distance) and cold ones, kept in one clock
/// with a reference bit per page, so that a hit only sets a bit.
///
/// One circular list holds hot pages, resident cold pages and non-resident cold pages (keys
/// remembered during their *test period*). New pages enter at the list's head, just behind
/// HAND_hot, and three hands move from the tail toward the head:
/// - HAND_cold frees room. At a resident cold page whose bit is set, it clears the bit and
///   moves the page to the head: a page in its test period becomes hot (and m_c grows), any
///   other starts a new test period. The first cold page with its bit clear leaves the cache;
///   if in its test period it stays in the list as non-resident, else it is forgotten.
/// - HAND_hot keeps the hot pages within m − m_c. It clears set bits of hot pages and turns
///   the first hot page with its bit clear into a cold one; every cold page it passes ends its
///   test period (a non-resident one is forgotten), and a test period ending unused shrinks m_c.
/// - HAND_test ends test periods while the non-resident pages hold more than m units, the
///   oldest first, forgetting the non-resident ones.
///
/// A miss on a non-resident page in its test period makes it hot; any other miss enters as a
/// cold page in its test period. As the paper says, m_c grows whenever a cold page, resident
/// or not, is reused within its test period, and shrinks when a test period ends unused.
///
/// Where the paper leaves a choice (it counts pages), made here: units are the cache's (bytes,
/// or objects with every size 1), and m_c moves by the size of the page that moved it; m_c
/// starts at 1% of the capacity (at least one unit), as LIRS's resident HIR share does, and
/// stays within
/// that minimum and the capacity less it. libCacheSim (aa0fc40) has no CLOCK-Pro, so there are
/// no reference counts to agree with; the tests hold it to the paper's claims (LIRS's miss
/// ratios, and resistance to scans and loops). It keeps its own account of what is cached,
/// with non-resident pages in the same clock, so it is a ``StandalonePolicy`` (no TTL).
public struct ClockProPolicy: StandalonePolicy, Sendable {
    /// "clock-pro".
    public static let name = "clock-pro"

    private enum State: UInt8 { case hot, cold, nonResident }

    private let capacity: Int
    private let minimumCold: Int
    /// m_c: the resident cold pages' share.
    private var coldTarget: Int
    private var map = KeySlotMap(capacity: 1 << 12)
    private var keys: [UInt64] = []
    private var sizes: [Int] = []
    private var states: [State] = []
    private var referenced: [Bool] = []
    private var inTest: [Bool] = []
    private var next: [UInt32] = []
    private var previous: [UInt32] = []
    private var freeNodes: [UInt32] = []
    private var handHot = noSlot
    private var handCold = noSlot
    private var handTest = noSlot
    private var hotBytes = 0
    private var coldBytes = 0
    private var nonResidentBytes = 0

    /// An empty cache of `capacity` units.
    public init(capacity: Int) {
        self.capacity = capacity
        minimumCold = max(1, capacity / 100)
        coldTarget = max(1, capacity / 100)
    }

    public var metadataBytesPerObject: Int { 8 + 8 + 1 + 1 + 1 + 8 + 16 }

    /// Units of the cached (hot and resident cold) pages; never above the capacity.
    public var residentUnits: Int { hotBytes + coldBytes }

    /// Units of the non-resident pages remembered in their test periods; never above the capacity.
    public var rememberedUnits: Int { nonResidentBytes }

    /// Whether `key` is cached (a non-resident page is not).
    public func isCached(_ key: UInt64) -> Bool {
        let n = map.find(key)
        return n != noSlot && states[Int(n)] != .nonResident
    }

    public mutating func request(_ key: UInt64, size: Int) -> Bool {
        let found = map.find(key)
        if found != noSlot, states[Int(found)] != .nonResident {
            referenced[Int(found)] = true
            return true
        }
        guard size <= capacity else { return false }
        // The room first, so that HAND_cold never meets the page being brought in.
        while hotBytes + coldBytes + size > capacity, hotBytes + coldBytes > 0 {
            evictCold()
        }
        // `found` may have been forgotten by a hand meanwhile.
        let remembered = map.find(key)
        if remembered != noSlot {
            // A non-resident page requested in its test period: its reuse distance is short.
            forget(remembered)
            grow(by: size)
            insertAtHead(key, size: size, state: .hot, test: false)
            hotBytes += size
            while hotBytes > capacity - coldTarget, hotBytes > 0 { runHandHot() }
        } else {
            insertAtHead(key, size: size, state: .cold, test: true)
            coldBytes += size
        }
        while nonResidentBytes > capacity { runHandTest() }
        return false
    }

    // MARK: Hands

    /// Runs HAND_cold until one resident cold page has left the cache.
    private mutating func evictCold() {
        while true {
            if coldBytes == 0 {
                // Every resident page is hot: HAND_hot makes one cold.
                runHandHot()
                continue
            }
            handCold = nextNode(from: handCold, where: .cold)
            let n = handCold
            let i = Int(n)
            if referenced[i] {
                referenced[i] = false
                if inTest[i] {
                    // Reused within its test period: the page turns hot.
                    let size = sizes[i]
                    coldBytes -= size
                    hotBytes += size
                    states[i] = .hot
                    inTest[i] = false
                    grow(by: size)
                    moveToHead(n)
                    while hotBytes > capacity - coldTarget, hotBytes > 0 { runHandHot() }
                } else {
                    inTest[i] = true
                    moveToHead(n)
                }
                continue
            }
            coldBytes -= sizes[i]
            if inTest[i] {
                states[i] = .nonResident
                nonResidentBytes += sizes[i]
                handCold = next[i]
            } else {
                unlink(n)
            }
            return
        }
    }

    /// Runs HAND_hot until it has turned one hot page cold.
    private mutating func runHandHot() {
        guard hotBytes > 0 else { return }
        while true {
            let n = handHot
            let i = Int(n)
            switch states[i] {
            case .hot:
                handHot = next[i]
                if referenced[i] {
                    referenced[i] = false
                } else {
                    states[i] = .cold
                    hotBytes -= sizes[i]
                    coldBytes += sizes[i]
                    return
                }
            case .cold:
                handHot = next[i]
                endTest(i)
            case .nonResident:
                endTest(i)
                forget(n)
            }
        }
    }

    /// Runs HAND_test over one page: a cold page's test period ends, and a non-resident page
    /// is forgotten.
    private mutating func runHandTest() {
        let n = handTest
        let i = Int(n)
        switch states[i] {
        case .hot, .cold:
            handTest = next[i]
            if states[i] == .cold { endTest(i) }
        case .nonResident:
            endTest(i)
            forget(n)
        }
    }

    /// A test period that ends without a reuse: cold pages should have less room.
    private mutating func endTest(_ i: Int) {
        guard inTest[i] else { return }
        inTest[i] = false
        coldTarget = max(minimumCold, coldTarget - sizes[i])
    }

    /// A reuse within a test period: cold pages should have more room.
    private mutating func grow(by size: Int) {
        coldTarget = min(max(minimumCold, capacity - minimumCold), coldTarget + size)
    }

    private mutating func forget(_ n: UInt32) {
        nonResidentBytes -= sizes[Int(n)]
        unlink(n)
    }

    // MARK: The clock

    /// The first node from `start` on (itself included) in `state`; one exists.
    private func nextNode(from start: UInt32, where state: State) -> UInt32 {
        var n = start == noSlot ? handHot : start
        while states[Int(n)] != state { n = next[Int(n)] }
        return n
    }

    @discardableResult
    private mutating func insertAtHead(_ key: UInt64, size: Int, state: State, test: Bool) -> UInt32 {
        let n: UInt32
        if let reused = freeNodes.popLast() {
            n = reused
        } else {
            n = UInt32(keys.count)
            keys.append(0); sizes.append(0); states.append(.cold); referenced.append(false)
            inTest.append(false); next.append(noSlot); previous.append(noSlot)
        }
        let i = Int(n)
        keys[i] = key
        sizes[i] = size
        states[i] = state
        referenced[i] = false
        inTest[i] = test
        map.set(key, n)
        link(n)
        return n
    }

    /// Puts `n` at the head: just behind HAND_hot, the last place every hand reaches.
    private mutating func link(_ n: UInt32) {
        let i = Int(n)
        if handHot == noSlot {
            next[i] = n
            previous[i] = n
            handHot = n
            handCold = n
            handTest = n
            return
        }
        let after = handHot
        let before = previous[Int(after)]
        next[i] = after
        previous[i] = before
        next[Int(before)] = n
        previous[Int(after)] = n
    }

    /// Takes `n` out of the clock, moving any hand on it to the next node.
    private mutating func detach(_ n: UInt32) {
        let i = Int(n)
        let after = next[i]
        if after == n {
            handHot = noSlot
            handCold = noSlot
            handTest = noSlot
            return
        }
        if handHot == n { handHot = after }
        if handCold == n { handCold = after }
        if handTest == n { handTest = after }
        let before = previous[i]
        next[Int(before)] = after
        previous[Int(after)] = before
    }

    private mutating func moveToHead(_ n: UInt32) {
        detach(n)
        link(n)
    }

    private mutating func unlink(_ n: UInt32) {
        detach(n)
        _ = map.remove(keys[Int(n)])
        freeNodes.append(n)
    }
}
