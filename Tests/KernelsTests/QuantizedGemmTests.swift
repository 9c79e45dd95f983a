import Testing

@testable import Kernels

/// Random weights in a block format: scales of 2^-7…2^-4 (as half-float bits), offsets of either
/// sign for q4_1, and uniformly random quants.
func randomQuantizedWeights(_ format: QuantFormat, rows: Int, k: Int, seed: UInt64) -> [UInt8] {
    var generator = SeededRandom(seed: seed)
    func byte() -> UInt8 { UInt8(truncatingIfNeeded: generator.next()) }
    func half(sign: Bool) -> [UInt8] {
        let bits = UInt16(0x2000 + generator.next() % 0x1000) | (sign && generator.next() % 2 == 0 ? 0x8000 : 0)
        return [UInt8(bits & 0xFF), UInt8(bits >> 8)]
    }
    var bytes: [UInt8] = []
    for _ in 0..<(rows * k / 32) {
        switch format {
        case .q4_1: bytes += half(sign: false) + half(sign: true) + (0..<16).map { _ in byte() }
        case .q8_0: bytes += half(sign: false) + (0..<32).map { _ in byte() }
        default: preconditionFailure("random weights are made for q4_1 and q8_0")
        }
    }
    return bytes
}

@Suite("QuantizedGemm")
struct QuantizedGemmTests {
    static let formats: [QuantFormat] = [.q4_1, .q8_0]

    /// The error budget of int16 activations: each element rounds by at most d/2 = max|x|/65534 of
    /// its block, so |Δout| ≤ Σ_j |w_j| · max|x|_block / 65534, plus f32 rounding.
    static func bound(_ a: [Float], row i: Int, dense: [Float], column r: Int, k: Int) -> Float {
        var total: Float = 0
        for block in 0..<(k / 32) {
            let range = (block * 32)..<(block * 32 + 32)
            let amax = range.map { abs(a[i * k + $0]) }.max() ?? 0
            total += range.map { abs(dense[r * k + $0]) }.reduce(0, +) * amax / 65534
        }
        return total * 1.01 + 1e-5
    }

    @Test("each path stays within the int16-rounding bound of the dequantised naive product",
        arguments: formats, QuantizedPath.allCases)
    func againstNaive(format: QuantFormat, path: QuantizedPath) {
        // A path this CPU lacks is answered by the scalar fallback, so it is checked all the same.
        for (m, n, k, threads) in [(1, 70, 64, 1), (5, 130, 576, 2), (4, 64, 1536, 1), (9, 200, 96, 2)] {
            let w = randomQuantizedWeights(format, rows: n, k: k, seed: UInt64(n * k))
            let a = randomFloats(m * k, seed: UInt64(m + k))
            var dense = [Float](repeating: 0, count: n * k)
            Dequantize.run(format, from: w, count: n * k, into: &dense)
            var activations = [UInt8](repeating: 0, count: QuantizedGemm.activationBytes(rows: m, k: k))
            QuantizedGemm.quantize(a, lda: k, into: &activations, m: m, k: k)
            var fast = randomFloats(m * n, seed: 9)
            var slow = fast
            QuantizedGemm.multiplyTransposed(
                activations: activations, w, format: format, into: &fast, ldc: n, m: m, n: n, k: k, accumulate: true,
                path: path, threads: threads)
            QuantizedGemm.naiveMultiplyTransposed(
                a, lda: k, w, format: format, into: &slow, ldc: n, m: m, n: n, k: k, accumulate: true)
            for i in 0..<m {
                for r in 0..<n {
                    let limit = Self.bound(a, row: i, dense: dense, column: r, k: k)
                    #expect(abs(fast[i * n + r] - slow[i * n + r]) <= limit, "m \(m) k \(k) row \(i) column \(r)")
                }
            }
        }
    }

    @Test("every SIMD path computes the scalar path's integer sums", arguments: formats)
    func simdMatchesScalar(format: QuantFormat) {
        let (m, n, k) = (7, 96, 576)
        let w = randomQuantizedWeights(format, rows: n, k: k, seed: 11)
        let a = randomFloats(m * k, seed: 12, scale: 3)
        var activations = [UInt8](repeating: 0, count: QuantizedGemm.activationBytes(rows: m, k: k))
        QuantizedGemm.quantize(a, lda: k, into: &activations, m: m, k: k)
        var scalar = [Float](repeating: 0, count: m * n)
        QuantizedGemm.multiplyTransposed(
            activations: activations, w, format: format, into: &scalar, ldc: n, m: m, n: n, k: k, path: .scalar)
        for path in QuantizedPath.supported where path != .scalar {
            var simd = [Float](repeating: 0, count: m * n)
            QuantizedGemm.multiplyTransposed(
                activations: activations, w, format: format, into: &simd, ldc: n, m: m, n: n, k: k, path: path)
            // Same integers, different order of the f32 block sums.
            let scale = scalar.map(abs).max() ?? 1
            #expect(maxDifference(simd, scalar) <= 1e-5 * scale, "\(path)")
        }
    }

    @Test("activation blocks: d = max|x|/32767, q = round(x/d), s = d·Σq")
    func quantize() {
        var x = [Float](repeating: 0, count: 64)
        for j in 0..<32 { x[j] = Float(j - 16) / 4 }  // max |x| = 4 → d = 4/32767
        var bytes = [UInt8](repeating: 0, count: QuantizedGemm.activationBytes(rows: 1, k: 64))
        QuantizedGemm.quantize(x, lda: 64, into: &bytes, m: 1, k: 64)
        bytes.withUnsafeBytes { raw in
            let d = raw.load(as: Float.self)
            let s = raw.load(fromByteOffset: 4, as: Float.self)
            let q = (0..<32).map { Int(raw.loadUnaligned(fromByteOffset: 8 + 2 * $0, as: Int16.self)) }
            #expect(d == Float(4) / 32767)
            #expect(q.first == -32767 && q[16] == 0 && q[31] == 30719)
            #expect(abs(s - d * Float(q.reduce(0, +))) < 1e-6)
            // The all-zero second block quantises to d = 0 and q = 0, never NaN.
            #expect(raw.load(fromByteOffset: 72, as: Float.self) == 0)
        }
    }

    @Test("decoded rows equal Dequantize's, and the tiled sgemm path matches the naive product", arguments: formats)
    func dequantizing(format: QuantFormat) {
        let (m, n, k) = (40, 150, 96)
        let w = randomQuantizedWeights(format, rows: n, k: k, seed: 21)
        var whole = [Float](repeating: 0, count: n * k)
        Dequantize.run(format, from: w, count: n * k, into: &whole)
        var some = [Float](repeating: 0, count: 10 * k)
        QuantizedGemm.dequantizeRows(w, format: format, k: k, rows: 20..<30, into: &some)
        #expect(some == Array(whole[(20 * k)..<(30 * k)]))

        let a = randomFloats(m * k, seed: 22)
        var fast = randomFloats(m * n, seed: 23)
        var slow = fast
        var tile = [Float](repeating: 0, count: 7 * k)  // 7 rows per tile: the last tile is partial
        tile.withUnsafeMutableBufferPointer { tile in
            QuantizedGemm.multiplyTransposedDequantizing(
                a, lda: k, w, format: format, into: &fast, ldc: n, m: m, n: n, k: k, accumulate: true, tile: tile)
        }
        QuantizedGemm.naiveMultiplyTransposed(a, lda: k, w, format: format, into: &slow, ldc: n, m: m, n: n, k: k, accumulate: true)
        #expect(maxDifference(fast, slow) < 1e-4)
    }
}
