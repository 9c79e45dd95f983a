import Testing

@testable import Kernels

@Suite("RMSNorm")
struct RMSNormTests {
    @Test("matches the formula on a hand-computed row")
    func handComputed() {
        let x: [Float] = [3, 4]  // mean square 12.5
        var out = [Float](repeating: 0, count: 2)
        RMSNorm.run(x, weight: [1, 2], epsilon: 0, into: &out, rows: 1, n: 2)
        let r = (12.5 as Float).squareRoot()
        #expect(abs(out[0] - 3 / r) < 1e-6 && abs(out[1] - 8 / r) < 1e-6)
    }

    @Test("the SIMD path matches the naive reference", arguments: [576, 13])
    func matchesNaive(n: Int) {
        let x = randomFloats(3 * n, seed: 10, scale: 5)
        let w = randomFloats(n, seed: 11)
        var fast = [Float](repeating: 0, count: 3 * n)
        var slow = fast
        RMSNorm.run(x, weight: w, epsilon: 1e-5, into: &fast, rows: 3, n: n)
        RMSNorm.naive(x, weight: w, epsilon: 1e-5, into: &slow, rows: 3, n: n)
        #expect(maxDifference(fast, slow) < 1e-5)
    }
}
