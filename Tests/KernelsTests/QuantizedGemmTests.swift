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

    @Test("each path matches the dequantised naive product, with strides, threads and accumulation",
        arguments: formats, KernelPath.allCases)
    func againstNaive(format: QuantFormat, path: KernelPath) {
        // A path this CPU lacks is answered by the scalar fallback, so it is checked all the same.
        // Row counts cover every group the kernels make (8, 4 and single rows: 13, 32) and weight
        // row ranges that do not fill the last tile of 16.
        let shapes = [(1, 70, 64, 1), (5, 130, 576, 2), (4, 64, 1536, 1), (9, 200, 96, 2), (13, 100, 64, 2), (32, 45, 576, 1)]
        for (m, n, k, threads) in shapes {
            let w = randomQuantizedWeights(format, rows: n, k: k, seed: UInt64(n * k))
            let lda = k + 5
            let a = randomFloats(m * lda, seed: UInt64(m + k))
            var fast = randomFloats(m * n, seed: 9)
            var slow = fast
            QuantizedGemm.multiplyTransposed(
                a, lda: lda, w, format: format, into: &fast, ldc: n, m: m, n: n, k: k, accumulate: true, path: path,
                team: threads > 1 ? ComputeTeam(threads: threads) : nil)
            QuantizedGemm.naiveMultiplyTransposed(
                a, lda: lda, w, format: format, into: &slow, ldc: n, m: m, n: n, k: k, accumulate: true)
            // Only the order of the f32 sums differs: products are ≲ 0.2 in magnitude, k ≤ 1536.
            #expect(maxDifference(fast, slow) < 2e-5 * Float(k).squareRoot(), "\(path) m \(m) n \(n) k \(k)")
        }
    }

    @Test("the panel kernels match the dequantised naive product on each path, with strides, threads and accumulation",
        arguments: formats, KernelPath.allCases)
    func panels(format: QuantFormat, path: KernelPath) {
        // Rows 1, 15, 16, 17, 33 and 130 cover one-vector and two-vector tiles, padding lanes and
        // a second pass of 128 activation rows; n 45, 100 and 200 leave a short last panel of 12
        // and parts of unequal size; k 96 and 160 leave a short last step of 128 columns.
        let shapes = [
            (1, 45, 64, 1), (15, 100, 160, 2), (16, 48, 576, 2), (17, 200, 96, 3), (33, 45, 1536, 2), (130, 100, 160, 2),
        ]
        for (m, n, k, threads) in shapes {
            let w = randomQuantizedWeights(format, rows: n, k: k, seed: UInt64(n * k + 1))
            let lda = k + 3
            let a = randomFloats(m * lda, seed: UInt64(m * k))
            var fast = randomFloats(m * n, seed: 11)
            var slow = fast
            var packed = [Float](repeating: .nan, count: QuantizedGemm.packedActivationFloats(m: m, k: k))
            packed.withUnsafeMutableBufferPointer { packed in
                QuantizedGemm.multiplyTransposedPanels(
                    a, lda: lda, w, format: format, into: &fast, ldc: n, m: m, n: n, k: k, accumulate: true,
                    packed: packed, path: path, team: threads > 1 ? ComputeTeam(threads: threads) : nil)
            }
            QuantizedGemm.naiveMultiplyTransposed(
                a, lda: lda, w, format: format, into: &slow, ldc: n, m: m, n: n, k: k, accumulate: true)
            #expect(fast.allSatisfy { $0.isFinite }, "\(path) m \(m) n \(n) k \(k)")
            #expect(maxDifference(fast, slow) < 2e-5 * Float(k).squareRoot(), "\(path) m \(m) n \(n) k \(k)")
        }
    }

    @Test("decoded rows equal Dequantize's bit for bit on each path, and the tiled sgemm path matches the naive product",
        arguments: formats, KernelPath.allCases)
    func dequantizing(format: QuantFormat, path: KernelPath) {
        let (m, n, k) = (40, 150, 96)
        let w = randomQuantizedWeights(format, rows: n, k: k, seed: 21)
        var whole = [Float](repeating: 0, count: n * k)
        Dequantize.run(format, from: w, count: n * k, into: &whole)
        var some = [Float](repeating: 0, count: 10 * k)
        QuantizedGemm.dequantizeRows(w, format: format, k: k, rows: 20..<30, into: &some, path: path)
        #expect(some == Array(whole[(20 * k)..<(30 * k)]), "\(path)")

        let a = randomFloats(m * k, seed: 22)
        var fast = randomFloats(m * n, seed: 23)
        var slow = fast
        var tile = [Float](repeating: 0, count: 7 * k)  // 7 rows per tile: the last tile is partial
        tile.withUnsafeMutableBufferPointer { tile in
            QuantizedGemm.multiplyTransposedDequantizing(
                a, lda: k, w, format: format, into: &fast, ldc: n, m: m, n: n, k: k, accumulate: true, tile: tile,
                path: path)
        }
        QuantizedGemm.naiveMultiplyTransposed(
            a, lda: k, w, format: format, into: &slow, ldc: n, m: m, n: n, k: k, accumulate: true)
        #expect(maxDifference(fast, slow) < 1e-4)
    }
}
