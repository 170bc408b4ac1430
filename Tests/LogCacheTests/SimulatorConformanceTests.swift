import Foundation
import Testing
@testable import LogCache
import LogCacheSimulation

/// The shared trace directory, `<package root>/../shared/traces/`, found from this file's path.
enum SharedTraces {
    static let directory: String = {
        let testsDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()  // Tests/LogCacheTests
        let packageRoot = testsDir.deletingLastPathComponent().deletingLastPathComponent()
        return packageRoot.deletingLastPathComponent().appendingPathComponent("shared/traces").path
    }()
    static let cloudPhysics = directory + "/cloudPhysicsIO.oracleGeneral.bin"
    static let oltp = directory + "/OLTP.lis.zst"
    static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }
}

/// Reproduces the miss counts libCacheSim's own tests publish for the CloudPhysics sample
/// trace (see ../shared/traces/README.md) at 128 MiB × 1…8.
// Skipped, not failed, when the shared trace is absent: it is data kept outside the project.
@Suite(.enabled(if: SharedTraces.exists(SharedTraces.cloudPhysics),
                "needs ../shared/traces/cloudPhysicsIO.oracleGeneral.bin (not part of the project)"))
struct SimulatorConformanceTests {
    static let capacities = (1...8).map { 134_217_728 * $0 }

    /// Every published policy at every capacity, replayed in one pass over the trace, in parallel.
    static let results: [String: [SimulationCounts]] = {
        let kinds: [SimulatedPolicyKind] = [.lru, .fifo, .clock, .lfu, .sieve, .twoQ, .s3fifo, .arc, .wtinylfu, .mru, .slru,
                                            .lfuda, .gdsf, .qdlp, .lirs, .lecar, .lhd, .cacheus, .belady]
        var runs: [(SimulatedPolicyKind, any SimulationRun)] = []
        for kind in kinds {
            for c in capacities { runs.append((kind, kind.makeRun(capacity: c))) }
        }
        do {
            var reader = try TraceOpener.open(SharedTraces.cloudPhysics)
            let threads = max(1, ProcessInfo.processInfo.activeProcessorCount)
            try Replay.run(&reader, runs: runs.map(\.1), threads: threads)
        } catch {
            Issue.record("cannot replay \(SharedTraces.cloudPhysics): \(error)")
            return [:]
        }
        var out: [String: [SimulationCounts]] = [:]
        for (kind, run) in runs { out[kind.rawValue, default: []].append(run.result.counts) }
        return out
    }()

    func check(_ policy: String, misses: [Int], missBytes: [Int]?) {
        guard let counts = Self.results[policy] else {
            Issue.record("no results for \(policy)")
            return
        }
        for (i, c) in counts.enumerated() {
            #expect(c.requests == 113_872, "\(policy) k=\(i + 1)")
            #expect(c.requestBytes == 4_368_040_448, "\(policy) k=\(i + 1)")
        }
        #expect(counts.map(\.misses) == misses, "\(policy) miss counts")
        if let missBytes { #expect(counts.map(\.missBytes) == missBytes, "\(policy) miss bytes") }
    }

    @Test func lru() {
        check("lru", misses: [93374, 89783, 83572, 81722, 72494, 72104, 71972, 71704],
              missBytes: [4214303232, 4061242368, 3778040320, 3660569600, 3100927488, 3078128640, 3075403776, 3061662720])
    }

    @Test func fifo() {
        check("fifo", misses: [93403, 89386, 84387, 84025, 72498, 72228, 72182, 72140],
              missBytes: [4213112832, 4052646400, 3829170176, 3807412736, 3093146112, 3079525888, 3079210496, 3077547520])
    }

    @Test func clock() {
        // Miss bytes from libCacheSim's test suite (test/test_evictionAlgo.c), not listed in the README.
        check("clock", misses: [93313, 89775, 83411, 81328, 74815, 72283, 71927, 64456],
              missBytes: [4213887488, 4064512000, 3762650624, 3644467200, 3256760832, 3091688448, 3074241024, 2697378816])
    }

    @Test func lfu() {
        check("lfu", misses: [91699, 86720, 78578, 76707, 69945, 66221, 64445, 64376],
              missBytes: [4158632960, 3917211648, 3536227840, 3455379968, 3035580416, 2801699328, 2699456000, 2696345600])
    }

    @Test func sieve() {
        check("sieve", misses: [91699, 86720, 78578, 76707, 69945, 66221, 64445, 64376],
              missBytes: [4158632960, 3917211648, 3536227840, 3455379968, 3035580416, 2801699328, 2699456000, 2696345600])
    }

    /// Belady's published figures come from libCacheSim's test suite (test/test_evictionAlgo.c).
    @Test func belady() {
        check("belady", misses: [79256, 70724, 65481, 61594, 59645, 57599, 50873, 48974],
              missBytes: [3472532480, 2995165696, 2726689792, 2537648128, 2403427840, 2269212672, 2134992896, 2029769728])
    }

    // libCacheSim publishes no 2Q, S3-FIFO or ARC figures for this trace: the ones below are its
    // own (aa0fc40, default parameters), from a driver that feeds every request of the trace
    // to `TwoQ_init`, `S3FIFO_init` or `ARC_init(...)->get` and counts the misses and their
    // bytes; with every size set to 1, the count-based figures of `countBased(_:_:)`.

    /// 2Q with `Ain-size-ratio=0.25,Aout-size-ratio=0.5`.
    @Test func twoQ() {
        check("2q", misses: [91729, 83567, 82245, 77039, 72182, 72136, 72113, 72074],
              missBytes: [4130814976, 3757302784, 3693497856, 3305772032, 3080457216, 3079010304, 3078737920, 3077292544])
    }

    /// S3-FIFO with `fifo-size-ratio=0.10,ghost-size-ratio=0.90,move-to-main-threshold=2`.
    @Test func s3fifo() {
        check("s3-fifo", misses: [89307, 82387, 77041, 76791, 71300, 70343, 70455, 70355],
              missBytes: [4040718336, 3703628800, 3353047552, 3282235904, 3038256128, 2980646912, 2984458752, 2979649536])
    }

    @Test func arc() {
        check("arc", misses: [90252, 85861, 78168, 74297, 67381, 65685, 64439, 64772],
              missBytes: [4068098560, 3821026816, 3525644800, 3296890368, 2868538880, 2771180032, 2699484672, 2712971264])
    }

    /// W-TinyLFU with `main-cache=SLRU,window-size=0.01`: libCacheSim's admission filter is a
    /// counting Bloom filter sized from the main area's bytes (so large that it almost never
    /// errs), ours a count-min sketch of 32 counters a row per cached object, so the counts are
    /// close rather than equal: within 1% at every size (0.2% in fact when this was written).
    /// With a sketch of 256 counters per object they were equal.
    @Test func wtinylfu() {
        let libCacheSim = [90517, 84533, 79359, 75139, 72761, 65552, 61243, 53564]
        guard let counts = Self.results["w-tinylfu"] else {
            Issue.record("no results for w-tinylfu")
            return
        }
        for (c, expected) in zip(counts, libCacheSim) {
            let off = abs(Double(c.misses - expected)) / Double(expected)
            #expect(off <= 0.01, "\(c.misses) misses against libCacheSim's \(expected)")
        }
        // This build's own figures, so that a change to the sketch shows.
        #expect(counts.map(\.misses) == [90483, 84507, 79363, 75012, 72733, 65514, 61354, 53559])
    }

    /// MRU, as libCacheSim's (no parameters).
    @Test func mru() {
        check("mru", misses: [100738, 95058, 89580, 85544, 81725, 77038, 71070, 66919],
              missBytes: [4105477120, 3784799744, 3493475840, 3280475648, 3069635072, 2856241152, 2673937408, 2539762688])
    }

    /// SLRU with `n-seg=4` (segments of a quarter each).
    @Test func slru() {
        check("slru", misses: [90757, 87085, 83727, 80361, 75034, 65341, 59413, 57616],
              missBytes: [4148575232, 3925843456, 3700752384, 3497008128, 3166133760, 2661671424, 2533362688, 2530577920])
    }

    /// LFUDA (no parameters).
    @Test func lfuda() {
        check("lfuda", misses: [92637, 88601, 82001, 80240, 73214, 71386, 70415, 71128],
              missBytes: [4200012288, 3993467904, 3673375232, 3579174400, 3164476928, 3046658048, 2998682624, 3027994112])
    }

    /// GDSF (no parameters).
    @Test func gdsf() {
        check("gdsf", misses: [89068, 84750, 74853, 70488, 67919, 64180, 61029, 58721],
              missBytes: [4210604032, 4057062912, 3719372800, 3436728320, 3271431168, 3029728768, 2828587520, 2677800448])
    }

    /// QD-LP with `fifo-size-ratio=0.10,ghost-size-ratio=0.9,main-cache=Clock2,move-to-main-threshold=1`.
    @Test func qdlp() {
        check("qd-lp", misses: [88746, 80630, 76450, 71638, 67380, 65680, 66125, 64417],
              missBytes: [4008265728, 3625704960, 3330610176, 3099731456, 2868538880, 2771098112, 2734977024, 2697751552])
    }

    /// LIRS with `hirs-ratio=0.01`, replayed as a ``StandalonePolicy``.
    @Test func lirs() {
        check("lirs", misses: [89819, 79237, 73143, 70363, 68405, 64494, 58640, 53924],
              missBytes: [4060558336, 3525952512, 3199406080, 3011810816, 2848310272, 2580918784, 2361375744, 2288325120])
    }

    /// LeCaR with `update-weight=1,lru-weight=0.5`: it draws from libCacheSim's own generator
    /// as often as libCacheSim does, so it is compared exactly.
    @Test func lecar() {
        check("lecar", misses: [93269, 89035, 80244, 80815, 72165, 67720, 65487, 66535],
              missBytes: [4214232576, 4018871808, 3595043328, 3604504064, 3075584512, 2886519808, 2748467712, 2755397120])
    }

    /// LHD with `associativity=32,admission=8`: it draws from libCacheSim's generator as often
    /// as libCacheSim does and computes in the same single-precision steps, so it is compared
    /// exactly. (This trace is shorter than one reconfiguration, 2^20 requests; the 10M-request
    /// comparison in docs/bench.md covers those.)
    @Test func lhd() {
        check("lhd", misses: [90500, 86928, 82211, 77256, 71259, 67001, 63734, 61237],
              missBytes: [4209021952, 4060000768, 3824893440, 3594843136, 3319633408, 3119866880, 2953787392, 2810359808])
    }

    /// Cacheus, with libCacheSim's quirks (see ``CacheusPolicy``): it draws from libCacheSim's
    /// generator as often as libCacheSim does, so it is compared exactly.
    @Test func cacheus() {
        check("cacheus", misses: [89760, 82402, 80209, 72824, 69909, 69200, 67955, 66453],
              missBytes: [4037924864, 3723531776, 3560280576, 3171063808, 3030112256, 2950096896, 2866289152, 2805229568])
    }

    /// Random and Hyperbolic draw with generators of their own, so a run is one sample of a
    /// random process and so is libCacheSim's (which picks a random bucket of its hash table,
    /// so its choices depend on that table's layout). The mean of five seeds must be within 1% of
    /// libCacheSim's count at every size; one seed alone was up to 1.1% off.
    @Test("Randomized policies: the mean of five seeds within 1% of libCacheSim at every size", arguments: [
        ("random", [93016, 88830, 84460, 79818, 75899, 72648, 69025, 65095]),
        ("hyperbolic", [92905, 89447, 83954, 80546, 74640, 71860, 69189, 65306]),
    ])
    func randomized(_ policy: String, _ libCacheSim: [Int]) throws {
        let seeds: [UInt64] = [1, 2, 3, 4, 5]
        var runs: [any SimulationRun] = []
        for seed in seeds {
            for c in Self.capacities {
                runs.append(policy == "random"
                    ? PolicySimulationRun(policy: RandomPolicy(capacity: c, seed: seed), capacity: c)
                    : PolicySimulationRun(policy: HyperbolicPolicy(capacity: c, seed: seed), capacity: c))
            }
        }
        var reader = try TraceOpener.open(SharedTraces.cloudPhysics)
        try Replay.run(&reader, runs: runs, threads: max(1, ProcessInfo.processInfo.activeProcessorCount))
        for (i, expected) in libCacheSim.enumerated() {
            let misses = seeds.indices.map { runs[$0 * Self.capacities.count + i].result.counts.misses }
            let mean = Double(misses.reduce(0, +)) / Double(misses.count)
            let off = abs(mean - Double(expected)) / Double(expected)
            #expect(off <= 0.01, "\(policy) k=\(i + 1): mean \(mean) of \(misses) against libCacheSim's \(expected)")
            #expect(Set(misses).count > 1, "\(policy) k=\(i + 1): the seeds made no difference")
        }
    }

    @Test("Count-based runs at 100, 1,000, 5,000 and 20,000 objects", arguments: [
        (SimulatedPolicyKind.twoQ, [97458, 94117, 87879, 72103]),
        (.s3fifo, [96893, 94017, 85382, 70417]),
        (.arc, [97330, 94027, 87770, 64422]),
        (.mru, [110826, 108363, 100554, 74333]),
        (.slru, [98316, 94084, 89800, 60636]),
        // libCacheSim's LFUDA does not finish at 100 objects: after each bucket empties it
        // looks for the next frequency one at a time, and hits add the age, so frequencies
        // (and the gaps between them) grow without bound. This figure is ours alone.
        (.lfuda, [100790, 94145, 91229, 71215]),
        (.gdsf, [98977, 94176, 91290, 70479]),
        (.qdlp, [97427, 93919, 84738, 64426]),
        (.lirs, [97875, 94304, 85289, 58681]),
        (.lecar, [99140, 94518, 91522, 65597]),
        (.lhd, [99141, 94787, 91404, 70554]),
        (.cacheus, [98030, 93987, 87711, 68498]),
    ])
    func countBased(_ kind: SimulatedPolicyKind, _ misses: [Int]) throws {
        let runs = [100, 1_000, 5_000, 20_000].map { kind.makeRun(capacity: $0, countBased: true) }
        var reader = try TraceOpener.open(SharedTraces.cloudPhysics)
        try Replay.run(&reader, runs: runs, threads: 1)
        #expect(runs.map(\.result.counts.misses) == misses)
    }
}
