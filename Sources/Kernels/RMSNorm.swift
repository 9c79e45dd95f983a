/// Root-mean-square layer normalisation (Zhang & Sennrich 2019), as in Llama:
/// y = x / sqrt(mean(x²) + ε) ⊙ w.
public enum RMSNorm {
    /// Normalises each of `rows` rows of length `n` of `x` (row stride `n`) into `out` (may alias `x`)
    /// and scales by `weight` (n). The sum of squares accumulates in Float in 8 independent lanes,
    /// which the compiler vectorises.
    public static func run(
        _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, epsilon: Float,
        into out: UnsafeMutablePointer<Float>, rows: Int, n: Int
    ) {
        for r in 0..<rows {
            let row = x + r * n
            var lanes = SIMD8<Float>()
            var i = 0
            while i + 8 <= n {
                let v = UnsafeRawPointer(row + i).loadUnaligned(as: SIMD8<Float>.self)
                lanes += v * v
                i += 8
            }
            var sum = lanes.sum()
            while i < n {
                sum += row[i] * row[i]
                i += 1
            }
            let scale = 1 / (sum / Float(n) + epsilon).squareRoot()
            let dst = out + r * n
            for j in 0..<n { dst[j] = row[j] * scale * weight[j] }
        }
    }

    /// Reference for `run`: the formula in Double.
    public static func naive(
        _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, epsilon: Float,
        into out: UnsafeMutablePointer<Float>, rows: Int, n: Int
    ) {
        for r in 0..<rows {
            var sum = 0.0
            for j in 0..<n { sum += Double(x[r * n + j]) * Double(x[r * n + j]) }
            let scale = 1 / (sum / Double(n) + Double(epsilon)).squareRoot()
            for j in 0..<n { out[r * n + j] = Float(Double(x[r * n + j]) * scale * Double(weight[j])) }
        }
    }
}
