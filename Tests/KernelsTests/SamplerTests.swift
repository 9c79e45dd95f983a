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
}
