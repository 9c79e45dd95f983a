import ArborProtocol
import Foundation
import Testing
import TestSupport

@testable import Coordinator

/// The tree viewer's document over a run directory that holds the worked example
/// (Tests/Fixtures/advantages): its signal is `arbor advantages`'s, leaves and paths are marked,
/// and what cannot be shown is an error naming the batch or task.
@Suite struct RunTreesTests {
    /// A run directory with the worked example as batch 1 and its job file as job.yaml.
    static func workedExampleRun() throws -> URL {
        let directory = Fixtures.temporaryDirectory("arbor-trees")
        let fixtures = Fixtures.directory.appendingPathComponent("advantages")
        try FileManager.default.createDirectory(
            at: directory.appendingPathComponent("trees"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            at: fixtures.appendingPathComponent("worked-example.job.yaml"), to: directory.appendingPathComponent("job.yaml"))
        try FileManager.default.copyItem(
            at: fixtures.appendingPathComponent("worked-example.trees.jsonl"),
            to: directory.appendingPathComponent("trees/batch-000001.jsonl"))
        return directory
    }

    @Test func signalPerNodeIsTheWorkedExample() throws {
        let directory = try Self.workedExampleRun()
        defer { try? FileManager.default.removeItem(at: directory) }
        let view = try RunTrees(runDirectory: directory).view(batch: nil, task: nil, text: nil)
        #expect(view.batch == 1 && view.batches == [1] && view.taskIDs == ["demo-1"])
        let tree = try #require(view.trees.first)
        let expectedText = try String(
            contentsOf: Fixtures.directory.appendingPathComponent("advantages/worked-example.expected.jsonl"), encoding: .utf8)
        let expected = try JSONDecoder().decode(TreeSignal.self, from: Data(expectedText.utf8.prefix { $0 != 10 }))
        #expect(tree.nodes.count == expected.nodes.count + 1)
        for step in expected.nodes {
            let node = try #require(tree.nodes.first { $0.id == step.id })
            #expect(abs((node.reward ?? .nan) - step.reward) <= 1e-6, "R(s) of node \(step.id)")
            #expect(abs((node.forkAdvantage ?? .nan) - step.forkAdvantage) <= 1e-6, "F(s) of node \(step.id)")
        }
        for trajectory in expected.trajectories {
            let leaf = try #require(tree.nodes.first { $0.id == trajectory.leaf }?.trajectory)
            #expect(abs(leaf.advantage - trajectory.advantage) <= 1e-6, "A of leaf \(trajectory.leaf)")
        }
        // Leaves 4 and 6 tie at the top (first in node order wins); leaf 7 is the worst.
        #expect(tree.bestLeaf == 4 && tree.worstLeaf == 7)
        #expect(Set(tree.nodes.filter(\.onBestPath).map(\.id)) == [0, 1, 4])
        #expect(Set(tree.nodes.filter(\.onWorstPath).map(\.id)) == [0, 1, 5, 7])
        #expect(tree.nodes.first?.parent == nil && tree.nodes.first?.reward == nil)
        #expect(tree.nodes.first { $0.id == 7 }?.depth == 3)
    }

    @Test func documentIsJSONWithEveryNode() throws {
        let directory = try Self.workedExampleRun()
        defer { try? FileManager.default.removeItem(at: directory) }
        let json = try RunTrees(runDirectory: directory).view(batch: 1, task: "demo-1", text: nil).json()
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let trees = try #require(document["trees"] as? [[String: Any]])
        let nodes = try #require(trees.first?["nodes"] as? [[String: Any]])
        #expect(nodes.map { $0["id"] as? Int } == [0, 1, 2, 3, 4, 5, 6, 7])
        #expect(nodes.allSatisfy { $0["text_source"] as? String == "none" })
    }

    @Test func decodesTokenIDsWhenTheTreeCarriesNoText() throws {
        var record = RolloutTreeRecord(
            taskID: "t", taskType: "math",
            nodes: [.init(id: 0, parent: nil), .init(id: 1, parent: 0, outcome: 1), .init(id: 2, parent: 0, outcome: -1)])
        record.nodes[0].tokenIDs = [72, 105]
        record.nodes[1].text = "<answer>2</answer>"
        record.nodes[1].calls = []
        record.nodes[2].tokenIDs = [300]
        record.nodes[2].contextIDs = [33]
        let job = try JobConfig(yaml: "tree: {trajectories: 2}\n", requirement: .signalOnly)
        let signal = try LearningSignal.score(batch: [record], config: job, aepo: AEPOState())
        let text = TokenText(source: "bytes") { ids in
            ids.allSatisfy { $0 < 256 } ? String(decoding: ids.map { UInt8($0) }, as: UTF8.self) : nil
        }
        let view = try TreeView(batch: 1, batches: [1], records: [record], signal: signal, task: nil, text: text)
        let nodes = try #require(view.trees.first?.nodes)
        #expect(nodes[0].text == "Hi" && nodes[0].textSource == "bytes")
        #expect(nodes[1].text == "<answer>2</answer>" && nodes[1].textSource == "worker")
        #expect(nodes[2].text == "" && nodes[2].textSource == "none" && nodes[2].toolResult == "!")
    }

    @Test func missingBatchOrTaskIsNotFound() throws {
        let directory = try Self.workedExampleRun()
        defer { try? FileManager.default.removeItem(at: directory) }
        let trees = try RunTrees(runDirectory: directory)
        #expect(throws: CoordinatorError(.notFound, "batch 5 is not written; written batches: 1–1")) {
            try trees.view(batch: 5, task: nil, text: nil)
        }
        #expect(throws: CoordinatorError(.notFound, "batch 1 has no tree for task nope; its tasks: demo-1")) {
            try trees.view(batch: 1, task: "nope", text: nil)
        }
        #expect(throws: CoordinatorError.self) { try RunTrees(runDirectory: directory.appendingPathComponent("trees")) }
    }

    @Test func stepDetailSurvivesTheTreeFile() throws {
        var node = RolloutTreeRecord.Node(id: 1, parent: 0, toolCalls: 1, outcome: nil)
        node.text = "<tool_call>{\"name\": \"calculator\"}</tool_call>\n"
        node.calls = [.init(name: "calculator", arguments: #"{"expression":"6*7"}"#, ok: true, output: "42", error: "")]
        node.checks = [.init(name: "tags", passed: true, detail: ""), .init(name: "answer", passed: false, detail: "none")]
        let leaf = RolloutTreeRecord.Node(id: 2, parent: 1, outcome: 1)
        let record = RolloutTreeRecord(taskID: "t", taskType: "math", nodes: [.init(id: 0, parent: nil), node, leaf])
        let back = try RolloutTreeRecord.readJSONL(record.jsonLine(), file: "line")
        #expect(back == [record])
    }
}
