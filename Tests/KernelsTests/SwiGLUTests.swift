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

    /// Counts leave a part-vector tail; gates of ±100 and more must give g·up and 0, not NaN.
    @Test("matches the naive reference on each path, in place too", arguments: KernelPath.allCases)
    func matchesNaive(path: KernelPath) {
        for count in [1, 13, 1536] {
            var gate = randomFloats(count, seed: 20, scale: 8)
            if count > 2 { (gate[0], gate[1]) = (120, -120) }
            let up = randomFloats(count, seed: 21, scale: 3)
            var fast = [Float](repeating: 0, count: count)
            var slow = fast
            SwiGLU.run(gate: gate, up: up, into: &fast, count: count, path: path)
            SwiGLU.naive(gate: gate, up: up, into: &slow, count: count)
            let worst = zip(fast, slow).map { abs($0 - $1) / max(1, abs($1)) }.max()!
            #expect(worst < 1e-6, "\(path) count \(count)")
            gate.withUnsafeMutableBufferPointer { g in
                SwiGLU.run(gate: g.baseAddress!, up: up, into: g.baseAddress!, count: count, path: path)
            }
            #expect(gate == fast, "\(path) count \(count) in place")
        }
    }
}
