import Foundation
import CKernels
import Testing

@testable import Kernels

@Suite("Softmax")
struct SoftmaxTests {
    @Test("stable with huge logits")
    func stable() {
        var x: [Float] = [1000, 1000, -1000]
        #expect(abs(Softmax.logSumExp(x, count: 3) - (1000 + Float(0.6931472))) < 1e-3)
        Softmax.run(&x, count: 3)
        #expect(x == [0.5, 0.5, 0])
    }

    @Test("softmax, log-softmax and entropy match the naive references")
    func matchesNaive() {
        let logits = randomFloats(49152, seed: 30, scale: 20)
        var fast = logits
        var slow = logits
        Softmax.run(&fast, count: fast.count)
        Softmax.naive(&slow, count: slow.count)
        #expect(maxDifference(fast, slow) < 1e-6)
        var logProbs = [Float](repeating: 0, count: logits.count)
        Softmax.logSoftmax(logits, into: &logProbs, count: logits.count)
        #expect(abs(logProbs[7] - log(slow[7])) < 1e-3)
        #expect(abs(Softmax.entropy(logits, count: logits.count) - Softmax.naiveEntropy(logits, count: logits.count)) < 1e-3)
    }

    /// Lengths leave every kind of tail (a lone float, part of a vector, whole vectors plus part),
    /// and logits far below the maximum must come out exactly 0, not a denormal's garbage.
    @Test("the C softmax matches the naive reference on each path", arguments: KernelPath.allCases)
    func cSoftmax(path: KernelPath) {
        for count in [1, 7, 17, 333, 49152] {
            var logits = randomFloats(count, seed: UInt64(count), scale: 20)
            if count > 2 { logits[1] = logits.max()! - 200 }
            var fast = logits
            var slow = logits
            ck_softmax(path.cPath, &fast, Int32(count))
            Softmax.naive(&slow, count: count)
            #expect(maxDifference(fast, slow) < 1e-6, "\(path) count \(count)")
            if count > 2 { #expect(fast[1] == 0, "\(path) count \(count)") }
            #expect(abs(fast.reduce(0.0) { $0 + Double($1) } - 1) < 1e-5, "\(path) count \(count)")
        }
    }

    @Test("entropy of a uniform distribution is log n, of a point mass 0")
    func entropyBounds() {
        #expect(abs(Softmax.entropy([Float](repeating: 3, count: 8), count: 8) - Float(2.0794415)) < 1e-5)
        #expect(Softmax.entropy([0, -10_000, -10_000], count: 3) == 0)
    }
}
