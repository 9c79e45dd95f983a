import ArborProtocol
import Foundation
import Testing
@testable import Coordinator

/// Which tasks an eval runs and how held-out tasks leave the training sets (issue 13).
@Suite struct EvalSuiteTests {
    static func set(_ type: String, _ ids: [String], file: String? = nil) throws -> TaskSet {
        let lines = ids.map { #"{"id": "\#($0)", "prompt": "p \#($0)", "answer": "1"}"# }
        let path = file ?? "/tasks/\(type).jsonl"
        return try TaskSet(settings: TaskSetSettings(type: type, path: path), jsonl: lines.joined(separator: "\n"), file: path)
    }

    static func config(sets: [TaskSetSettings] = [], ids: [String] = [], tasks: Int? = nil) -> JobConfig {
        var job = JobConfig()
        var eval = EvalSettings()
        eval.taskSets = sets
        eval.taskIDs = ids
        eval.tasks = tasks
        job.eval = eval
        job.tree.trajectories = 8
        job.tree.branching = 2
        return job
    }

    @Test func typesTakeTurnsAndHeldOutIdsJoinTheirType() throws {
        let math = try Self.set("math", ["em1", "em2", "em3"])
        let qa = try Self.set("qa", ["eq1"])
        let training = [try Self.set("math", ["m1", "m2"]), try Self.set("code", ["c1", "c2"])]
        let suite = try EvalSuite(
            config: Self.config(sets: [math.settings, qa.settings], ids: ["c2", "m1"]), evalSets: [math, qa],
            trainingSets: training)
        // Groups: math [em1 em2 em3 m1], qa [eq1], code [c2]; taken one of each in turn.
        #expect(suite.tasks.map(\.id) == ["em1", "eq1", "c2", "em2", "em3", "m1"])
        let five = try EvalSuite(
            config: Self.config(sets: [math.settings, qa.settings], ids: ["c2", "m1"], tasks: 4), evalSets: [math, qa],
            trainingSets: training)
        #expect(five.tasks.map(\.id) == ["em1", "eq1", "c2", "em2"])
    }

    @Test func requestsAreSingleTrajectoriesWithVersionedIdsAndStableSeeds() throws {
        let math = try Self.set("math", ["a", "b"])
        let suite = try EvalSuite(config: Self.config(sets: [math.settings]), evalSets: [math], trainingSets: [])
        let v0 = suite.requests(version: 0)
        let v2 = suite.requests(version: 2)
        #expect(v0.map(\.requestID) == ["eval-v0-000", "eval-v0-001"])
        #expect(v2.map(\.requestID) == ["eval-v2-000", "eval-v2-001"])
        #expect(v2.allSatisfy { $0.policyVersion == 2 && $0.spec.trajectories == 1 && $0.spec.branching == 1 })
        #expect(v0.allSatisfy { $0.spec.temperature == 0 }, "greedy by default")
        #expect(v0.map(\.spec.seed) == v2.map(\.spec.seed), "every version sees the same seeds")
        #expect(v0[0].spec.seed != v0[1].spec.seed)
        #expect(v0.map(\.task.taskID) == ["a", "b"] && v0[0].task.taskType == "math")
    }

    @Test func heldOutTasksLeaveTheTrainingCatalog() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("arbor-eval-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("math.jsonl").path
        try (1...5).map { #"{"id": "m\#($0)", "prompt": "p", "answer": "1"}"# }.joined(separator: "\n")
            .write(toFile: path, atomically: true, encoding: .utf8)
        var job = Self.config(ids: ["m2", "m4"])
        job.taskSets = [TaskSetSettings(type: "math", path: path)]
        let catalog = try TaskCatalog(config: job)
        #expect(catalog.allTasks.map(\.id) == ["m1", "m3", "m5"])
        #expect(catalog["m2"] == nil && catalog["m4"] == nil)
        let suite = try EvalSuite(config: job)
        #expect(suite.tasks.map(\.id) == ["m2", "m4"])

        job.eval?.taskIDs = ["m1", "m2", "m3", "m4", "m5"]
        #expect(throws: CoordinatorError.self) { try TaskCatalog(config: job) }
    }

    @Test func badEvalTasksAreErrorsNamingWhatIsWrong() throws {
        let math = try Self.set("math", ["e1", "m1"], file: "/eval/math.jsonl")
        let training = [try Self.set("math", ["m1", "m2"])]
        func message(_ config: JobConfig, _ sets: [TaskSet]) -> String {
            do {
                _ = try EvalSuite(config: config, evalSets: sets, trainingSets: training)
                return ""
            } catch {
                return "\(error)"
            }
        }
        let leak = message(Self.config(sets: [math.settings]), [math])
        #expect(leak.contains("/eval/math.jsonl:2") && leak.contains("'m1'") && leak.contains("eval.task_ids"), "\(leak)")
        let unknown = message(Self.config(ids: ["m9"]), [])
        #expect(unknown.contains("eval.task_ids") && unknown.contains("'m9'"), "\(unknown)")
        let tooMany = message(Self.config(ids: ["m1"], tasks: 3), [])
        #expect(tooMany.contains("eval.tasks is 3") && tooMany.contains("only 1"), "\(tooMany)")
    }
}
