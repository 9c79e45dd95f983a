import Testing

@testable import Kernels

@Suite("RoPE")
struct RoPETests {
    @Test("rotates adjacent pairs: position 0 is the identity, pair 0 turns by pos radians")
    func adjacentPairs() {
        let table = RoPETable(dimensions: 4, base: 10_000, maxPositions: 8)
        var x: [Float] = [1, 0, 1, 0]
        table.apply(&x, heads: 1, headDim: 4, position: 0)
        #expect(x == [1, 0, 1, 0])
        table.apply(&x, heads: 1, headDim: 4, position: 1)
        // Pair 0: θ = 1 rad; pair 1: θ = 1/100 rad (10000^(-2/4)).
        #expect(abs(x[0] - Float(0.5403023)) < 1e-6 && abs(x[1] - Float(0.84147098)) < 1e-6)
        #expect(abs(x[2] - Float(0.99995)) < 1e-5 && abs(x[3] - Float(0.00999983)) < 1e-6)
    }

    @Test("the table matches the naive rotation", arguments: [0, 7, 300, 2047])
    func matchesNaive(position: Int) {
        let table = RoPETable(dimensions: 64, base: 100_000, maxPositions: 2048)
        var fast = randomFloats(9 * 64, seed: UInt64(position))
        var slow = fast
        table.apply(&fast, heads: 9, headDim: 64, position: position)
        RoPETable.naive(&slow, heads: 9, headDim: 64, position: position, dimensions: 64, base: 100_000)
        #expect(maxDifference(fast, slow) < 1e-5)
    }
}
