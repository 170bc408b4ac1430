import Foundation

/// Zipf-distributed ranks in `0 ..< count` (rank 0 the most popular), by the constant-time
/// method of Gray et al. ("Quickly generating billion-record synthetic databases", 1994)
/// that YCSB uses, so that figures compare with published cache benchmarks.
public struct ZipfGenerator: Sendable {
    public let count: Int
    public let theta: Double
    private let zetaN: Double
    private let alpha: Double
    private let eta: Double
    private let half: Double

    public init(count: Int, theta: Double) {
        precondition(count >= 2 && theta > 0 && theta < 1)
        self.count = count
        self.theta = theta
        var zeta = 0.0
        for i in 1...count { zeta += 1 / pow(Double(i), theta) }
        zetaN = zeta
        let zeta2 = 1 + 1 / pow(2, theta)
        alpha = 1 / (1 - theta)
        eta = (1 - pow(2 / Double(count), 1 - theta)) / (1 - zeta2 / zeta)
        half = 1 + pow(0.5, theta)
    }

    public func next<R: RandomNumberGenerator>(using rng: inout R) -> Int {
        let u = Double.random(in: 0..<1, using: &rng)
        let uz = u * zetaN
        if uz < 1 { return 0 }
        if uz < half { return 1 }
        return min(count - 1, Int(Double(count) * pow(eta * u - eta + 1, alpha)))
    }
}
