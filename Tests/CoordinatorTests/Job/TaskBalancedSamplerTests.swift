import ArborProtocol
import Foundation
import Testing

@testable import Coordinator

/// The task-balanced sampler: per-type counts per batch, determinism, coverage, resumption.
@Suite struct TaskBalancedSamplerTests {
    struct Mix: Sendable, CustomTestStringConvertible {
        var counts: [String: Int]
        var weights: [String: Double]
        var batchSize: Int
        var expected: [String: Int]
        var testDescription: String { "\(weights.isEmpty ? "equal" : "\(weights)") batch \(batchSize)" }
    }

    static let mixes: [Mix] = [
        Mix(counts: ["math": 10, "qa": 7], weights: [:], batchSize: 16, expected: ["math": 8, "qa": 8]),
        // 17/3 = 5.67 each: the two leftover seats go by name (equal weights, equal fractions).
        Mix(counts: ["a": 5, "b": 5, "c": 5], weights: [:], batchSize: 17, expected: ["a": 6, "b": 6, "c": 5]),
        Mix(counts: ["math": 10, "qa": 7], weights: ["math": 3, "qa": 1], batchSize: 16, expected: ["math": 12, "qa": 4]),
        // Quotas 2.0, 1.2, 0.8: the leftover seat goes to the largest fraction (c), not the largest weight.
        Mix(counts: ["a": 3, "b": 3, "c": 3], weights: ["a": 5, "b": 3, "c": 2], batchSize: 4,
            expected: ["a": 2, "b": 1, "c": 1]),
        // Quotas 3.5, 3.5: equal fractions and weights, so the leftover seat goes by name (x).
        Mix(counts: ["x": 2, "y": 50], weights: ["x": 1, "y": 1], batchSize: 7, expected: ["x": 4, "y": 3]),
        // Quotas 2.25 and 6.75 (z weighs 0): the leftover seat goes to y's larger fraction.
        Mix(counts: ["x": 4, "y": 4, "z": 4], weights: ["x": 1, "y": 3, "z": 0], batchSize: 9,
            expected: ["x": 2, "y": 7, "z": 0]),
    ]

    @Test(arguments: mixes) func everyBatchHasTheSpecifiedShares(mix: Mix) throws {
        var sampler = try TaskBalancedSampler(
            taskCounts: mix.counts, weights: mix.weights, batchSize: mix.batchSize, seed: 3)
        for _ in 0..<25 {
            let batch = sampler.nextBatch()
            #expect(batch.count == mix.batchSize)
            var counts: [String: Int] = [:]
            for pick in batch {
                counts[pick.type, default: 0] += 1
                #expect((0..<(mix.counts[pick.type] ?? 0)).contains(pick.index))
            }
            #expect(counts.filter { $0.value > 0 } == mix.expected.filter { $0.value > 0 })
        }
    }

    @Test func sameSeedSameBatchesOtherSeedOtherBatches() throws {
        let counts = ["math": 40, "qa": 25, "code": 9]
        func batches(seed: UInt64) throws -> [[TaskPick]] {
            var sampler = try TaskBalancedSampler(taskCounts: counts, batchSize: 12, seed: seed)
            return (0..<10).map { _ in sampler.nextBatch() }
        }
        #expect(try batches(seed: 42) == batches(seed: 42))
        #expect(try batches(seed: 42) != batches(seed: 43))
    }

    @Test func everyTaskIsSampledOncePerPass() throws {
        let counts = ["math": 13, "qa": 5]
        var sampler = try TaskBalancedSampler(taskCounts: counts, weights: ["math": 1, "qa": 1], batchSize: 4, seed: 9)
        var seen: [String: [Int]] = [:]
        for _ in 0..<13 {
            for pick in sampler.nextBatch() { seen[pick.type, default: []].append(pick.index) }
        }
        // 26 math draws = two full passes over 13 tasks; each pass is a permutation.
        let math = seen["math"] ?? []
        #expect(math.count == 26)
        #expect(Set(math[0..<13]) == Set(0..<13) && Set(math[13..<26]) == Set(0..<13))
        #expect(Array(math[0..<13]) != Array(math[13..<26]))
        let qa = seen["qa"] ?? []
        #expect(Set(qa[0..<5]) == Set(0..<5) && Set(qa[5..<10]) == Set(0..<5))
    }

    @Test func batchesInterleaveTypes() throws {
        var sampler = try TaskBalancedSampler(taskCounts: ["a": 9, "b": 9], batchSize: 6, seed: 0)
        #expect(sampler.nextBatch().map(\.type) == ["a", "b", "a", "b", "a", "b"])
    }

    @Test func savedStateResumesExactly() throws {
        let counts = ["math": 11, "qa": 6]
        var original = try TaskBalancedSampler(taskCounts: counts, batchSize: 5, seed: 5)
        for _ in 0..<7 { _ = original.nextBatch() }
        let saved = try JSONEncoderRoundTrip.roundTrip(original.state)
        var resumed = try TaskBalancedSampler(resuming: saved, weights: [:], batchSize: 5)
        #expect(resumed.state.batchesDrawn == 7)
        for _ in 0..<10 { #expect(resumed.nextBatch() == original.nextBatch()) }
    }

    @Test func refusesBatchesThatStarveAType() {
        #expect(throws: CoordinatorError.self) {
            _ = try TaskBalancedSampler(taskCounts: ["a": 3, "b": 3], weights: ["a": 10, "b": 1], batchSize: 4, seed: 0)
        }
        #expect(throws: CoordinatorError.self) {
            _ = try TaskBalancedSampler(taskCounts: ["a": 3], weights: ["a": 1, "zzz": 1], batchSize: 4, seed: 0)
        }
        #expect(throws: CoordinatorError.self) {
            _ = try TaskBalancedSampler(taskCounts: ["a": 3, "b": 1], weights: ["a": 1], batchSize: 4, seed: 0)
        }
    }

    @Test func generatorIsReproducibleAndUnbiasedEnough() {
        var generator = SplitMix64(seed: 1234567)
        // Vigna's splitmix64.c, seed 1234567: first outputs.
        #expect(generator.next() == 6_457_827_717_110_365_317)
        #expect(generator.next() == 3_203_168_211_198_807_973)
        var counts = [Int](repeating: 0, count: 6)
        for _ in 0..<60_000 { counts[generator.index(below: 6)] += 1 }
        #expect(counts.allSatisfy { abs($0 - 10_000) < 500 })
    }
}

/// Codable state survives a JSON round trip (what a restarted coordinator reads back).
enum JSONEncoderRoundTrip {
    static func roundTrip<T: Codable>(_ value: T) throws -> T {
        let data = try JSONEncoder().encode(value)
        return try JSONDecoder().decode(T.self, from: data)
    }
}
