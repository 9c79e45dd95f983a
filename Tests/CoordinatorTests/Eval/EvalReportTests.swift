import ArborProtocol
import Foundation
import Testing
@testable import Coordinator

/// The figures of one version's eval: mean reward, accuracy, tool-call rate, tokens and the
/// standard error, overall and per task type (issue 13).
@Suite struct EvalReportTests {
    typealias Trajectory = EvalReport.Trajectory

    @Test func figuresOfAWorkedExample() throws {
        // Rewards 1, −1, 1, 0: mean 0.25; deviations .75, −1.25, .75, −.25 → squares sum 2.75;
        // sample variance 2.75/3; stderr = √(2.75/3) / √4 = 0.478714.
        let trajectories = [
            Trajectory(taskType: "math", reward: 1, toolCalls: 2, tokens: 10),
            Trajectory(taskType: "math", reward: -1, toolCalls: 0, tokens: 20),
            Trajectory(taskType: "qa", reward: 1, toolCalls: 1, tokens: 30),
            Trajectory(taskType: "qa", reward: 0, toolCalls: 0, tokens: 40),
        ]
        let report = EvalReport(version: 3, trajectories: trajectories, failed: 1, seconds: 2.5, timestamp: Date())
        #expect(report.policyVersion == 3 && report.tasks == 4 && report.failed == 1)
        #expect(report.meanReward == 0.25)
        #expect(report.accuracy == 0.5)
        #expect(report.toolCallRate == 0.5)
        #expect(report.meanTokens == 25)
        #expect(abs(report.stderrReward - 0.478714) < 1e-6)
        let math = try #require(report.byType["math"])
        #expect(math.tasks == 2 && math.meanReward == 0 && math.accuracy == 0.5 && math.toolCallRate == 0.5)
        #expect(abs(math.stderrReward - 1) < 1e-12, "rewards 1, −1: sd √2, stderr √2/√2 = 1")
        let qa = try #require(report.byType["qa"])
        #expect(qa.meanReward == 0.5 && qa.meanTokens == 35)
    }

    @Test func oneOrNoTrajectoryHasNoSpread() {
        let one = EvalReport.figures(of: [Trajectory(taskType: "m", reward: 1, toolCalls: 0, tokens: 3)])
        #expect(one.stderrReward == 0 && one.meanReward == 1 && one.accuracy == 1)
        let none = EvalReport.figures(of: [])
        #expect(none.tasks == 0 && none.meanReward == 0 && none.stderrReward == 0)
    }

    @Test func aTreeGivesItsLeafOutcomeToolCallsAndTokens() {
        var result = RolloutResult()
        var root = WireTreeNode()
        root.parent = -1
        root.tokenIds = [1, 2, 3, 4, 5]  // the prompt: not generated
        var call = WireTreeNode()
        call.id = 1
        call.parent = 0
        call.tokenIds = [7, 8, 9]
        call.toolCalls = [WireToolCall()]
        var leaf = WireTreeNode()
        leaf.id = 2
        leaf.parent = 1
        leaf.tokenIds = [10, 11]
        leaf.isLeaf = true
        leaf.outcome = 1
        result.tree.nodes = [root, call, leaf]
        let trajectory = Trajectory(result: result, taskType: "math")
        #expect(trajectory == Trajectory(taskType: "math", reward: 1, toolCalls: 1, tokens: 5))
        result.tree.nodes = [root, call]
        #expect(Trajectory(result: result, taskType: "math").reward == -1, "no answer counts as wrong")
    }

    @Test func theLineReadsBackWithSnakeCaseKeys() throws {
        let report = EvalReport(
            version: 1, trajectories: [Trajectory(taskType: "search_qa", reward: 1, toolCalls: 1, tokens: 4)], failed: 0,
            seconds: 1, timestamp: Date(timeIntervalSince1970: 0))
        let line = try report.jsonLine()
        for key in ["\"policy_version\":1", "\"mean_reward\":1", "\"tool_call_rate\":1", "\"stderr_reward\":0",
                    "\"mean_tokens\":4", "\"by_type\":{\"search_qa\":", "\"timestamp\":\"1970-01-01T00:00:00Z\""] {
            #expect(line.contains(key), "\(key) missing from \(line)")
        }
        #expect(!line.contains("\n"))
        #expect(try EvalReport.decode(line: line) == report)
    }
}
