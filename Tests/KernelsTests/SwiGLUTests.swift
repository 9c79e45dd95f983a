import Testing

@testable import Kernels

@Suite("SwiGLU")
struct SwiGLUTests {
    @Test("silu(gate) · up")
    func values() {
        var out = [Float](repeating: 0, count: 3)
        SwiGLU.run(gate: [0, 1, -2], up: [5, 2, 1], into: &out, count: 3)
        #expect(out[0] == 0)
        #expect(abs(out[1] - 2 * 0.7310586) < 1e-6)
        #expect(abs(out[2] - -2 * 0.1192029) < 1e-6)
    }

    @Test("matches the naive reference")
    func matchesNaive() {
        let gate = randomFloats(1536, seed: 20, scale: 8)
        let up = randomFloats(1536, seed: 21, scale: 3)
        var fast = [Float](repeating: 0, count: 1536)
        var slow = fast
        SwiGLU.run(gate: gate, up: up, into: &fast, count: 1536)
        SwiGLU.naive(gate: gate, up: up, into: &slow, count: 1536)
        #expect(maxDifference(fast, slow) < 1e-5)
    }
}
