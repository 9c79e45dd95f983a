import ArborProtocol
import Foundation
import Testing
import TestSupport

@testable import Coordinator

/// The design's worked example, through the entry point `arbor advantages` uses, against
/// Tests/Fixtures/advantages/worked-example.expected.jsonl (tolerance 1e-6).
@Suite struct WorkedExampleTests {
    static func scoreFixture() throws -> (lines: [String], signal: BatchSignal) {
        let job = try JobConfig.load(
            path: Fixtures.directory.appendingPathComponent("advantages/worked-example.job.yaml").path, requirement: .signalOnly)
        let input = Fixtures.directory.appendingPathComponent("advantages/worked-example.trees.jsonl")
        let trees = try RolloutTreeRecord.readJSONL(try String(contentsOf: input, encoding: .utf8), file: input.path)
        let signal = try LearningSignal.score(batch: trees, config: job, aepo: AEPOState())
        return (signal.trees.map { $0.jsonLine() }, signal)
    }

    /// Compares two parsed JSON values; numbers within `tolerance`, everything else exactly.
    static func expectClose(_ actual: Any, _ expected: Any, at path: String, tolerance: Double = 1e-6) {
        switch (actual, expected) {
        case (let actual as [String: Any], let expected as [String: Any]):
            #expect(Set(actual.keys) == Set(expected.keys), "keys at \(path)")
            for (key, value) in expected {
                if let other = actual[key] { expectClose(other, value, at: "\(path).\(key)") }
            }
        case (let actual as [Any], let expected as [Any]):
            #expect(actual.count == expected.count, "length at \(path)")
            for (index, pair) in zip(actual, expected).enumerated() {
                expectClose(pair.0, pair.1, at: "\(path)[\(index)]")
            }
        case (let actual as String, let expected as String):
            #expect(actual == expected, "at \(path)")
        case (let actual as NSNumber, let expected as NSNumber):
            #expect(abs(actual.doubleValue - expected.doubleValue) <= tolerance,
                    "at \(path): \(actual.doubleValue) vs \(expected.doubleValue)")
        default:
            Issue.record("type mismatch at \(path): \(actual) vs \(expected)")
        }
    }

    @Test func reproducesTheExpectedOutput() throws {
        let (lines, _) = try Self.scoreFixture()
        let expectedText = try String(
            contentsOf: Fixtures.directory.appendingPathComponent("advantages/worked-example.expected.jsonl"), encoding: .utf8)
        let expected = expectedText.split(separator: "\n").filter { !$0.isEmpty }
        #expect(lines.count == expected.count)
        for (line, expectedLine) in zip(lines, expected) {
            let actual = try JSONSerialization.jsonObject(with: Data(line.utf8))
            let wanted = try JSONSerialization.jsonObject(with: Data(expectedLine.utf8))
            Self.expectClose(actual, wanted, at: "$")
        }
        // The documented key order of the output line.
        #expect(lines.first?.hasPrefix("{\"task_id\": \"demo-1\", \"nodes\": [{\"id\": 1, \"reward\": ") == true)
    }

    @Test func treeLinesAreWrittenInTheFixtureForm() throws {
        let input = Fixtures.directory.appendingPathComponent("advantages/worked-example.trees.jsonl")
        let text = try String(contentsOf: input, encoding: .utf8)
        let trees = try RolloutTreeRecord.readJSONL(text, file: input.path)
        #expect(trees.map { $0.jsonLine() } == text.split(separator: "\n").filter { !$0.isEmpty }.map(String.init))
    }

    @Test func aepoStaysOffBetweenTheBounds() throws {
        let (_, signal) = try Self.scoreFixture()
        let entropy = try #require(signal.decision.entropy)
        #expect(abs(entropy - 0.383594) < 1e-6)
        #expect(signal.decision.enabled && !signal.decision.wasOn && !signal.decision.isOn)
        #expect(signal.aepo == AEPOState(maskingOn: false))
        #expect(signal.decision.summary == "AEPO: entropy 0.383594 within [0.2, 0.45]: masking stays off")
    }

    @Test func rowsCarryTheRewardBreakdown() throws {
        let (_, signal) = try Self.scoreFixture()
        #expect(signal.rows.map(\.leaf) == [3, 4, 6, 7])
        let leaf7 = try #require(signal.rows.last)
        #expect(leaf7.reward.outcome == -1 && leaf7.reward.toolCalls == 2)
        #expect(zip(leaf7.reward.stepRewards, [0.37305, -0.9, -0.67195]).allSatisfy { abs($0 - $1) < 1e-9 })
        #expect(zip(leaf7.reward.forkAdvantages, [-0.27, -1.114025, 0]).allSatisfy { abs($0 - $1) < 1e-9 })
    }
}
