import ArborProtocol
import Foundation
import Testing

@testable import Coordinator

/// Properties of the learning signal on seeded random trees, plus AEPO, DAPO, normalisation and
/// row layout on small hand-made trees (issue 5).
@Suite struct LearningSignalTests {
    static let seeds: [UInt64] = Array(1...40)

    static func job(
        normalize: AdvantageSettings.Normalize = .taskBatch, forkNormalize: AdvantageSettings.ForkNormalize = .none,
        aggregate: RewardSettings.Aggregate = .mean, gamma: Double = 0.9, otc: Bool = false
    ) -> JobConfig {
        var job = JobConfig()
        job.tree.maxToolSteps = 4
        job.reward.gamma = gamma
        job.reward.aggregate = aggregate
        job.reward.toolEfficiency = otc ? .otc : .none
        job.advantage.normalize = normalize
        job.advantage.forkNormalize = forkNormalize
        return job
    }

    @Test(arguments: seeds) func aSharedStepHasOneReward(seed: UInt64) throws {
        let tree = RandomTrees.tree(seed: seed)
        let signal = try LearningSignal.score(batch: [tree], config: Self.job(), aepo: AEPOState())
        let rewardOf = Dictionary(uniqueKeysWithValues: signal.trees[0].nodes.map { ($0.id, $0.reward) })
        let index = try TreeIndex(tree)
        for (row, leaf) in zip(signal.rows, index.leaves) {
            let path = index.path(to: leaf).map { tree.nodes[$0].id }
            #expect(row.reward.stepRewards == path.map { rewardOf[$0] ?? .nan })
        }
        // R(s) recomputed from the definition, walking down from s (independent of TreeIndex).
        let byID = Dictionary(uniqueKeysWithValues: tree.nodes.map { ($0.id, $0) })
        func leaves(below id: Int, depth: Int) -> [(outcome: Int, depth: Int)] {
            let children = tree.nodes.filter { $0.parent == id }
            if children.isEmpty { return [(byID[id]?.outcome ?? 99, depth)] }
            return children.flatMap { leaves(below: $0.id, depth: depth + 1) }
        }
        func depth(of id: Int) -> Int { byID[id]?.parent.map { depth(of: $0) + 1 } ?? 0 }
        for node in tree.nodes where node.parent != nil {
            let t = depth(of: node.id)
            let terms = leaves(below: node.id, depth: t).map { pow(0.9, Double($0.depth - t)) * Double($0.outcome) }
            let expected = terms.reduce(0, +) / Double(terms.count) + (node.format - 0.5) * pow(0.9, 4)
            #expect(abs((rewardOf[node.id] ?? .nan) - expected) < 1e-12)
        }
        // Every trajectory through a step sees that step's single reward.
        var seen: [Int: Double] = [:]
        for (row, leaf) in zip(signal.rows, index.leaves) {
            for (step, nodeIndex) in index.path(to: leaf).enumerated() {
                let id = tree.nodes[nodeIndex].id
                if let earlier = seen[id] { #expect(earlier == row.reward.stepRewards[step]) }
                seen[id] = row.reward.stepRewards[step]
            }
        }
    }

    @Test(arguments: seeds) func forkAdvantagesSumToZeroAtEachFork(seed: UInt64) throws {
        let tree = RandomTrees.tree(seed: seed)
        let index = try TreeIndex(tree)
        for forkNormalize in [AdvantageSettings.ForkNormalize.none, .std] {
            let signal = try LearningSignal.score(
                batch: [tree], config: Self.job(forkNormalize: forkNormalize), aepo: AEPOState())
            let fork = Dictionary(uniqueKeysWithValues: signal.trees[0].nodes.map { ($0.id, $0.forkAdvantage) })
            for siblings in index.children where !siblings.isEmpty {
                let values = siblings.map { fork[tree.nodes[$0].id] ?? .nan }
                if siblings.count == 1 {
                    #expect(values == [0])
                } else {
                    #expect(abs(values.reduce(0, +)) < 1e-9)
                }
            }
        }
    }

    @Test(arguments: seeds) func equalOutcomesGiveZeroAdvantages(seed: UInt64) throws {
        let outcome = Int(seed % 3) - 1
        let trees = [RandomTrees.tree(seed: seed, outcome: outcome), RandomTrees.tree(seed: seed + 1000, outcome: outcome)]
        for normalize in [AdvantageSettings.Normalize.taskBatch, .group, .none] {
            let signal = try LearningSignal.score(batch: trees, config: Self.job(normalize: normalize), aepo: AEPOState())
            #expect(signal.trees.flatMap(\.trajectories).allSatisfy { $0.advantage == 0 })
        }
        // With no discount and one format score, steps differ in nothing: every advantage is 0.
        let flat = [RandomTrees.tree(seed: seed, outcome: outcome, format: 1)]
        let signal = try LearningSignal.score(batch: flat, config: Self.job(gamma: 1), aepo: AEPOState())
        #expect(signal.trees[0].nodes.allSatisfy { abs($0.forkAdvantage) < 1e-12 })
        #expect(signal.trees[0].trajectories.allSatisfy { $0.tokenAdvantages.allSatisfy { abs($0) < 1e-12 } })
    }

    @Test(arguments: 1...6) func otcToolRewardPeaksAtTheFewestCalls(fewest n: Int) {
        for c in [0, 2, 4, 8] {
            #expect(abs(ToolEfficiencyReward.factor(toolCalls: n, fewest: n, maxToolSteps: c) - 1) < 1e-12)
            for m in 0...12 where m != n {
                #expect(ToolEfficiencyReward.factor(toolCalls: m, fewest: n, maxToolSteps: c) < 1)
            }
            // Monotone on both sides of the peak.
            for m in 1...n {
                #expect(ToolEfficiencyReward.factor(toolCalls: m - 1, fewest: n, maxToolSteps: c)
                    < ToolEfficiencyReward.factor(toolCalls: m, fewest: n, maxToolSteps: c))
            }
        }
        #expect(ToolEfficiencyReward.factor(toolCalls: 0, fewest: 0, maxToolSteps: 4) == 1)
        #expect(abs(ToolEfficiencyReward.factor(toolCalls: 2, fewest: 0, maxToolSteps: 4) - cos(2 * .pi / 8)) < 1e-12)
    }

    @Test func otcScalesOnlyCorrectTrajectories() throws {
        // root → 1 (2 calls) → 3 (+1); root → 2 (0 calls, +1); root → 4 (1 call) → 5 (−1).
        let tree = RolloutTreeRecord(taskID: "otc", taskType: "math", nodes: [
            .init(id: 0, parent: nil), .init(id: 1, parent: 0, toolCalls: 2), .init(id: 3, parent: 1, outcome: 1),
            .init(id: 2, parent: 0, outcome: 1), .init(id: 4, parent: 0, toolCalls: 1), .init(id: 5, parent: 4, outcome: -1),
        ])
        let signal = try LearningSignal.score(batch: [tree], config: Self.job(otc: true), aepo: AEPOState())
        let rewards = Dictionary(uniqueKeysWithValues: signal.trees[0].trajectories.map { ($0.leaf, $0.reward) })
        // n = 0 (leaf 2 used no tools): leaf 3 gets cos(2π/(4+4)).
        #expect(abs((rewards[3] ?? 0) - cos(2 * .pi / 8)) < 1e-12)
        #expect(rewards[2] == 1 && rewards[5] == -1)
    }

    @Test func taskBatchPoolsTheStdOverTreesOfOneType() throws {
        func tree(_ id: String, _ type: String, _ outcomes: [Int]) -> RolloutTreeRecord {
            var nodes = [RolloutTreeRecord.Node(id: 0, parent: nil)]
            for (index, outcome) in outcomes.enumerated() { nodes.append(.init(id: index + 1, parent: 0, outcome: outcome)) }
            return RolloutTreeRecord(taskID: id, taskType: type, nodes: nodes)
        }
        let batch = [tree("a", "math", [1, -1]), tree("b", "math", [1, 1, 1, -1]), tree("c", "qa", [0, 1])]
        let signal = try LearningSignal.score(batch: batch, config: Self.job(), aepo: AEPOState())
        let mathStd = TrajectoryAdvantage.unbiasedStd([1, -1, 1, 1, 1, -1])
        #expect(abs(signal.trees[0].trajectories[0].advantage - 1 / (mathStd + 1e-6)) < 1e-12)
        #expect(abs(signal.trees[1].trajectories[3].advantage - (-1.5) / (mathStd + 1e-6)) < 1e-12)
        let qaStd = TrajectoryAdvantage.unbiasedStd([0, 1])
        #expect(abs(signal.trees[2].trajectories[1].advantage - 0.5 / (qaStd + 1e-6)) < 1e-12)

        let group = try LearningSignal.score(batch: batch, config: Self.job(normalize: .group), aepo: AEPOState())
        #expect(abs(group.trees[0].trajectories[0].advantage - 1 / (2.0.squareRoot() + 1e-6)) < 1e-12)
        let plain = try LearningSignal.score(batch: batch, config: Self.job(normalize: .none), aepo: AEPOState())
        #expect(plain.trees[1].trajectories[3].advantage == -1.5)
    }

    @Test func maxAggregateTakesTheBestLeaf() throws {
        let tree = RolloutTreeRecord(taskID: "m", taskType: "math", nodes: [
            .init(id: 0, parent: nil), .init(id: 1, parent: 0), .init(id: 2, parent: 1, outcome: -1),
            .init(id: 3, parent: 1), .init(id: 4, parent: 3, outcome: 1), .init(id: 5, parent: 0, outcome: 0),
        ])
        let signal = try LearningSignal.score(batch: [tree], config: Self.job(aggregate: .max), aepo: AEPOState())
        let format = 0.5 * pow(0.9, 4)
        #expect(abs(signal.trees[0].nodes[0].reward - (0.81 + format)) < 1e-12)
    }

    @Test func aepoHysteresisCarriesAcrossBatches() throws {
        var job = Self.job()
        job.advantage.aepo = AEPOBounds(low: 0.2, high: 0.45)
        func batch(entropyPerToken: Double) -> [RolloutTreeRecord] {
            [RolloutTreeRecord(taskID: "e", taskType: "math", nodes: [
                .init(id: 0, parent: nil),
                .init(id: 1, parent: 0, modelTokens: 10, entropySum: 10 * entropyPerToken, outcome: 1),
                .init(id: 2, parent: 0, modelTokens: 10, entropySum: 10 * entropyPerToken, outcome: -1),
            ])]
        }
        let hot = try LearningSignal.score(batch: batch(entropyPerToken: 0.9), config: job, aepo: AEPOState())
        #expect(hot.decision.isOn && !hot.decision.wasOn && hot.decision.maskedTrajectories == 1)
        #expect(hot.trees[0].trajectories.map(\.weight) == [1, 0])
        #expect(hot.rows.map(\.weight) == [1, 0])
        let warm = try LearningSignal.score(batch: batch(entropyPerToken: 0.3), config: job, aepo: hot.aepo)
        #expect(warm.decision.isOn && warm.trees[0].trajectories.map(\.weight) == [1, 0])
        let cool = try LearningSignal.score(batch: batch(entropyPerToken: 0.1), config: job, aepo: warm.aepo)
        #expect(!cool.decision.isOn && cool.trees[0].trajectories.map(\.weight) == [1, 1])
        #expect(cool.decision.summary.contains("turns off"))
        job.advantage.aepo = nil
        let off = try LearningSignal.score(batch: batch(entropyPerToken: 0.9), config: job, aepo: AEPOState())
        #expect(!off.decision.enabled && !off.decision.isOn)
    }

    @Test func dapoDropsZeroVarianceGroups() throws {
        var job = Self.job()
        job.advantage.filterZeroVariance = true
        let same = RandomTrees.tree(seed: 7, outcome: 1)
        let mixed = RolloutTreeRecord(taskID: "mixed", taskType: "math", nodes: [
            .init(id: 0, parent: nil), .init(id: 1, parent: 0, outcome: 1), .init(id: 2, parent: 0, outcome: -1),
        ])
        let signal = try LearningSignal.score(batch: [same, mixed], config: job, aepo: AEPOState())
        #expect(signal.filteredTaskIDs == [same.taskID])
        #expect(signal.rows.allSatisfy { $0.taskID == "mixed" } && signal.rows.count == 2)
        #expect(signal.trees[0].trajectories.allSatisfy { $0.weight == 0 })
        // The filtered group stays out of the task_batch σ: mixed alone gives ±1/(√2 + 1e-6).
        #expect(abs(signal.trees[1].trajectories[0].advantage - 1 / (2.0.squareRoot() + 1e-6)) < 1e-12)
    }

    @Test(arguments: seeds.prefix(10)) func rowsMaskOnlySampledTokens(seed: UInt64) throws {
        let tree = RandomTrees.tree(seed: seed, withTokens: true)
        let signal = try LearningSignal.score(batch: [tree], config: Self.job(), aepo: AEPOState())
        let index = try TreeIndex(tree)
        for (row, (trajectory, leaf)) in zip(signal.rows, zip(signal.trees[0].trajectories, index.leaves)) {
            let path = index.path(to: leaf).map { tree.nodes[$0] }
            #expect(row.ids.count == row.mask.count && row.ids.count == row.logprobs.count)
            #expect(row.ids.count == row.advantages.count)
            #expect(Array(row.ids.prefix(3)) == [1, 2, 3] && Array(row.mask.prefix(3)) == [0, 0, 0])
            let expectedIDs = [1, 2, 3] + path.flatMap { ($0.tokenIDs ?? []) + ($0.contextIDs ?? []) }
            #expect(row.ids == expectedIDs)
            #expect(row.mask.reduce(0, +) == path.reduce(0) { $0 + $1.modelTokens })
            let sampledAdvantages = zip(row.mask, row.advantages).filter { $0.0 == 1 }.map(\.1)
            let expected = zip(path, trajectory.tokenAdvantages).flatMap { Array(repeating: $1, count: $0.modelTokens) }
            #expect(sampledAdvantages == expected)
            #expect(zip(row.mask, row.advantages).allSatisfy { $0.0 == 1 || $0.1 == 0 })
            #expect(row.policyVersion == path.compactMap(\.policyVersion).min())
        }
    }

    @Test func brokenTreesAreRefusedWithTheirTask() {
        func refused(_ nodes: [RolloutTreeRecord.Node]) -> String? {
            do {
                _ = try LearningSignal.score(
                    batch: [RolloutTreeRecord(taskID: "bad", taskType: "math", nodes: nodes)], config: Self.job(),
                    aepo: AEPOState())
                return nil
            } catch {
                return "\(error)"
            }
        }
        #expect(refused([.init(id: 1, parent: 0, outcome: 1)])?.contains("exactly one root") == true)
        #expect(refused([.init(id: 0, parent: nil), .init(id: 1, parent: 0)])?.contains("leaf 1 has no outcome") == true)
        #expect(refused([.init(id: 0, parent: nil), .init(id: 1, parent: 9, outcome: 1)])?.contains("parent 9") == true)
        #expect(refused([.init(id: 0, parent: nil), .init(id: 1, parent: 0, outcome: 2)])?.contains("outcome") == true)
        #expect(refused([.init(id: 0, parent: nil), .init(id: 1, parent: 0, format: 1.5, outcome: 1)])?
            .contains("format") == true)
        #expect(refused([.init(id: 0, parent: nil), .init(id: 1, parent: 2), .init(id: 2, parent: 1, outcome: 1)])?
            .contains("not reachable") == true)
        #expect(refused([.init(id: 0, parent: nil)])?.contains("no steps") == true)
    }

    @Test func treeLinesRoundTripAndErrorsNameTheLine() throws {
        let tree = RandomTrees.tree(seed: 3, withTokens: true)
        let again = try RolloutTreeRecord.readJSONL("\n" + tree.jsonLine() + "\n", file: "t.jsonl")
        #expect(again == [tree])
        let good = tree.jsonLine()
        #expect {
            _ = try RolloutTreeRecord.readJSONL(good + "\n{\"task_id\": 1}", file: "t.jsonl")
        } throws: { error in
            "\(error)".hasPrefix("t.jsonl:2: field")
        }
        let leafless = "{\"task_id\": \"x\", \"task_type\": \"m\", \"nodes\": [{\"id\": 0, \"parent\": null}, {\"id\": 1, \"parent\": 0}]}"
        #expect {
            _ = try RolloutTreeRecord.readJSONL(good + "\n\n" + leafless, file: "t.jsonl")
        } throws: { error in
            "\(error)" == "t.jsonl:3: tree of task 'x': leaf 1 has no outcome"
        }
    }
}
