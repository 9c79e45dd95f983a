import ArborProtocol
import Foundation
import Testing

/// `eval:` in job.yaml: held-out task sets and ids, the number of tasks, the decoding, and the
/// single-trajectory spec of an eval request (issue 13).
@Suite struct EvalSettingsTests {
    static let base = TrainerSettingsTests.base

    @Test func everyKeyIsRead() throws {
        let job = try JobConfigTests.parse(
            Self.base + """
                eval:
                  task_sets:
                    - {type: math, path: eval/math.jsonl, verifier: numeric, tolerance: 0.01, tools: [calculator]}
                    - {type: search_qa, path: /abs/qa.jsonl, verifier: contains, tools: [search]}
                  task_ids: [math-0001, math-0002]
                  tasks: 64
                  decoding: sampled
                """)
        let eval = try #require(job.eval)
        #expect(eval.taskSets.map(\.type) == ["math", "search_qa"])
        #expect(eval.taskSets[0].path == "/jobs/demo/eval/math.jsonl", "resolved against the job file")
        #expect(eval.taskSets[0].verifier == .numeric && eval.taskSets[0].tolerance == 0.01)
        #expect(eval.taskSets[1].tools == ["search"])
        #expect(eval.taskIDs == ["math-0001", "math-0002"])
        #expect(eval.tasks == 64 && eval.decoding == .sampled)
        #expect(try JobConfig(yaml: job.yamlText()) == job, "the job as run reads back equal")
    }

    @Test func defaultsAreEveryTaskDecodedGreedily() throws {
        let job = try JobConfigTests.parse(Self.base + "eval: {task_ids: [math-0007]}")
        #expect(job.eval?.tasks == nil && job.eval?.decoding == .greedy)
        #expect(try JobConfigTests.parse(Self.base).eval == nil, "no eval: section, no eval")
    }

    @Test func evalRequestsAreOneGreedyTrajectoryWithTheJobsTools() throws {
        var job = try JobConfigTests.parse(
            Self.base + "tree: {trajectories: 8, branching: 3, max_tool_steps: 3}\n"
                + "sampling: {temperature: 0.8, top_p: 0.9, top_k: 20, max_step_tokens: 96}\neval: {task_ids: [m]}")
        let greedy = RolloutSpec(evalOf: job, seed: 5, systemPrompt: "s")
        #expect(greedy.trajectories == 1 && greedy.branching == 1)
        #expect(greedy.maxToolSteps == 3 && greedy.maxStepTokens == 96)
        #expect(greedy.temperature == 0 && greedy.topP == 1 && greedy.topK == 0)
        #expect(greedy.seed == 5 && greedy.systemPrompt == "s")
        job.eval?.decoding = .sampled
        let sampled = RolloutSpec(evalOf: job, seed: 5, systemPrompt: "s")
        #expect(sampled.trajectories == 1 && sampled.branching == 1)
        #expect(abs(sampled.temperature - 0.8) < 1e-6 && abs(sampled.topP - 0.9) < 1e-6 && sampled.topK == 20)
    }

    @Test(arguments: [
        ("eval: {}", "eval", "eval needs tasks"),
        ("eval: {tasks: 4}", "eval", "eval needs tasks"),
        ("eval: {task_ids: [a], tasks: 0}", "eval.tasks", "must be ≥ 1"),
        ("eval: {task_ids: [a], decoding: gredy}", "eval.decoding", "did you mean 'greedy'"),
        ("eval: {task_ids: [a, a]}", "eval.task_ids", "listed twice"),
        ("eval: {task_ids: a}", "eval.task_ids", "must be a list"),
        ("eval: {task_sets: [{type: math}]}", "eval.task_sets[0].path", "is required"),
        ("eval: {task_sets: [{type: m, path: a}, {type: m, path: b}]}", "eval.task_sets[1].type", "appears twice"),
        ("eval: {task_ids: [a], taks: 3}", "eval.taks", "did you mean 'tasks'"),
        ("eval: [a]", "eval", "mapping"),
    ])
    func badEvalSettingsNameTheKey(yaml: String, keyPath: String, message: String) throws {
        let error = try #require(JobConfigTests.error(Self.base + yaml), "\(yaml) must be refused")
        #expect(error.keyPath == keyPath, "\(error)")
        #expect(error.message.contains(message), "\(error)")
        #expect(error.description.hasPrefix("job.yaml:3: "), "\(error)")
    }
}
