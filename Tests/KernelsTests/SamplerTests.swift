import CKernels
import Foundation
import Testing

@testable import Kernels

@Suite("Sampler")
struct SamplerTests {
    let logits: [Float] = [2, 0.5, 3, -1, 3, 1]

    @Test("temperature 0 is exact argmax, lowest id on ties, and draws nothing")
    func greedy() {
        let sampler = Sampler(vocabularySize: logits.count)
        var g = SeededRandom(seed: 1)
        let before = g
        let token = sampler.sample(logits, parameters: .greedy, using: &g)
        #expect(token.id == 2)
        let lse = log(logits.reduce(0.0) { $0 + exp(Double($1)) })
        #expect(abs(Double(token.logProb) - (3 - lse)) < 1e-5)
        var h = before
        #expect(g.next() == h.next())
    }

    @Test("log-prob and entropy are those of the tempered full distribution")
    func tempered() {
        let sampler = Sampler(vocabularySize: logits.count)
        var g = SeededRandom(seed: 2)
        let token = sampler.sample(logits, parameters: SamplingParameters(temperature: 0.5, topK: 2), using: &g)
        let reference = Sampler.naiveDistribution(logits, parameters: SamplingParameters(temperature: 0.5))
        let p = reference.first { $0.id == token.id }!.probability
        #expect(abs(Double(token.logProb) - log(p)) < 1e-5)
        let h = -reference.reduce(0.0) { $0 + $1.probability * log($1.probability) }
        #expect(abs(Double(token.entropy) - h) < 1e-5)
        #expect([2, 4].contains(token.id))
    }

    @Test("the kept set matches the naive full sort", arguments: [
        SamplingParameters(temperature: 1, topP: 0.9), SamplingParameters(temperature: 0.7, topP: 0.5, topK: 3),
        SamplingParameters(temperature: 1.3, topK: 4), SamplingParameters(temperature: 1, topP: 0.99),
    ])
    func keptSet(parameters: SamplingParameters) {
        let vocabulary = randomFloats(5000, seed: 40, scale: 6)
        let sampler = Sampler(vocabularySize: vocabulary.count)
        var g = SeededRandom(seed: 3)
        _ = sampler.sample(vocabulary, parameters: parameters, using: &g)  // fills the probabilities
        let kept = sampler.nucleus(parameters)
        let reference = Sampler.naiveDistribution(vocabulary, parameters: parameters)
        let same = kept == reference.map(\.id)
        #expect(same, "kept \(kept.count) tokens, the reference \(reference.count)")
    }

    @Test("draw frequencies follow the naive distribution", arguments: [
        SamplingParameters(temperature: 1), SamplingParameters(temperature: 0.8, topP: 0.8),
    ])
    func frequencies(parameters: SamplingParameters) {
        let sampler = Sampler(vocabularySize: logits.count)
        var g = SeededRandom(seed: 4)
        var counts = [Int](repeating: 0, count: logits.count)
        let draws = 40_000
        for _ in 0..<draws { counts[sampler.sample(logits, parameters: parameters, using: &g).id] += 1 }
        var expected = [Double](repeating: 0, count: logits.count)
        for entry in Sampler.naiveDistribution(logits, parameters: parameters) { expected[entry.id] = entry.probability }
        for id in logits.indices {
            #expect(abs(Double(counts[id]) / Double(draws) - expected[id]) < 0.01, "token \(id)")
        }
    }

    @Test("the same seed replays the same tokens")
    func replay() {
        let sampler = Sampler(vocabularySize: logits.count)
        var a = SeededRandom(seed: 9)
        var b = SeededRandom(seed: 9)
        let p = SamplingParameters(temperature: 1, topP: 0.95)
        let first = (0..<50).map { _ in sampler.sample(logits, parameters: p, using: &a).id }
        #expect(first == (0..<50).map { _ in sampler.sample(logits, parameters: p, using: &b).id })
    }

    /// A vocabulary-sized row with every kind of tail, a tie for the maximum (the lower index must
    /// win) and a logit far below the rest (exactly 0 probability).
    @Test("the sampling softmax matches the naive distribution on each path", arguments: KernelPath.allCases)
    func samplingSoftmax(path: KernelPath) {
        for count in [1, 17, 333, 49152] {
            var logits = randomFloats(count, seed: UInt64(count) + 60, scale: 8)
            if count > 2 {
                let top = logits.max()!
                logits[count - 1] = top
                logits[count / 2] = top
                logits[1] = top - 400
            }
            let inverseT: Float = 1 / 0.7
            var probabilities = [Float](repeating: -1, count: count)
            let d = ck_sampling_softmax(path.cPath, logits, Int32(count), inverseT, &probabilities)
            let reference = Sampler.naiveDistribution(logits, parameters: SamplingParameters(temperature: 0.7))
            var expected = [Double](repeating: 0, count: count)
            for entry in reference { expected[entry.id] = entry.probability }
            let worst = zip(probabilities, expected).map { abs(Double($0) - $1) / max($1, 1e-30) }.max()!
            #expect(worst < 2e-6 || count == 1, "\(path) count \(count): relative error \(worst)")
            #expect(d.maximum == logits.max()!)
            #expect(Int(d.argmax) == logits.firstIndex(of: logits.max()!)!, "\(path) count \(count)")
            if count > 2 { #expect(probabilities[1] == 0) }
            let entropy = -expected.reduce(0.0) { $0 + ($1 > 0 ? $1 * log($1) : 0) }
            #expect(abs(d.log_sum - d.expectation - entropy) < 1e-5, "\(path) count \(count)")
            let lse = log(logits.reduce(0.0) { $0 + exp((Double($1) - Double(d.maximum)) * Double(inverseT)) })
            #expect(abs(d.log_sum - lse) < 1e-5, "\(path) count \(count)")
        }
    }

    /// Each u is checked against the prefix sums in Double: the index found must be where they cross
    /// u, give or take float rounding of the running sum.
    @Test("the draw finds where the cumulative sum crosses u on each path", arguments: KernelPath.allCases)
    func sampleIndex(path: KernelPath) {
        let count = 49152 + 5
        var probabilities = randomFloats(count, seed: 70, scale: 1).map { abs($0) }
        let total = probabilities.reduce(0, +)
        probabilities = probabilities.map { $0 / total }
        var prefix = [Double](repeating: 0, count: count)
        var running = 0.0
        for i in 0..<count {
            running += Double(probabilities[i])
            prefix[i] = running
        }
        var g = SeededRandom(seed: 71)
        for _ in 0..<200 {
            let u = Float(g.nextUnitInterval())
            let index = Int(ck_sample_index(path.cPath, probabilities, Int32(count), u))
            let exact = prefix.firstIndex { Double(u) < $0 } ?? -1
            let slack = 1e-4  // float running sums over 49k entries
            let consistent = index == exact
                || index >= 0 && prefix[index] >= Double(u) - slack && (index == 0 || prefix[index - 1] <= Double(u) + slack)
            #expect(consistent, "\(path): u \(u) gave \(index), the Double prefix sums \(exact)")
        }
        #expect(ck_sample_index(path.cPath, probabilities, Int32(count), 2) == -1)
        #expect(ck_sample_index(path.cPath, probabilities, Int32(count), 0) == 0 || probabilities[0] == 0)
    }
}
