#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Numerically stable softmax, log-sum-exp, log-softmax and entropy over one vector.
///
/// Every form subtracts the maximum before exponentiating, so no exp overflows; sums
/// accumulate in Double, which keeps a 49k-entry vocabulary's log-sum-exp exact to ~1e-7.
public enum Softmax {
    /// log Σ exp(x[i]) over `count` elements (> 0): max + log Σ exp(x − max).
    public static func logSumExp(_ x: UnsafePointer<Float>, count: Int) -> Float {
        var m = -Float.infinity
        for i in 0..<count { m = max(m, x[i]) }
        if m == -.infinity { return m }
        var sum = 0.0
        for i in 0..<count { sum += Double(expf(x[i] - m)) }
        return m + Float(log(sum))
    }

    /// In place: x[i] ← exp(x[i] − max) / Σ exp(x − max) for `count` elements (> 0).
    public static func run(_ x: UnsafeMutablePointer<Float>, count: Int) {
        var m = -Float.infinity
        for i in 0..<count { m = max(m, x[i]) }
        var sum: Float = 0
        for i in 0..<count {
            let e = expf(x[i] - m)
            x[i] = e
            sum += e
        }
        let inverse = 1 / sum
        for i in 0..<count { x[i] *= inverse }
    }

    /// Reference for `run`, in Double.
    public static func naive(_ x: UnsafeMutablePointer<Float>, count: Int) {
        var m = -Double.infinity
        for i in 0..<count { m = max(m, Double(x[i])) }
        var sum = 0.0
        for i in 0..<count { sum += exp(Double(x[i]) - m) }
        for i in 0..<count { x[i] = Float(exp(Double(x[i]) - m) / sum) }
    }

    /// out[i] = x[i] − logsumexp(x): log-probabilities, `out` may alias `x`.
    public static func logSoftmax(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count: Int) {
        let lse = logSumExp(x, count: count)
        for i in 0..<count { out[i] = x[i] - lse }
    }

    /// Shannon entropy in nats of softmax(x): H = lse − Σ p·x, with p = exp(x − lse).
    ///
    /// Written as lse − E[x] so it needs one pass after the log-sum-exp and never takes log of a
    /// probability that underflowed to zero.
    public static func entropy(_ x: UnsafePointer<Float>, count: Int) -> Float {
        let lse = logSumExp(x, count: count)
        var expectation = 0.0
        for i in 0..<count {
            let p = Double(expf(x[i] - lse))
            expectation += p * Double(x[i])
        }
        return max(0, lse - Float(expectation))
    }

    /// Reference for `entropy`: −Σ p log p in Double, skipping zero probabilities.
    public static func naiveEntropy(_ x: UnsafePointer<Float>, count: Int) -> Float {
        var m = -Double.infinity
        for i in 0..<count { m = max(m, Double(x[i])) }
        var sum = 0.0
        for i in 0..<count { sum += exp(Double(x[i]) - m) }
        var h = 0.0
        for i in 0..<count {
            let p = exp(Double(x[i]) - m) / sum
            if p > 0 { h -= p * log(p) }
        }
        return Float(h)
    }
}
