import ArborProtocol
import Foundation
import Testing
import TestSupport

/// job.yaml loading: defaults, every key, errors that name file:line and key, the job as run.
@Suite struct JobConfigTests {
    static let fullJob = """
        name: demo
        model: {backend: builtin, path: models/smol.gguf, context_length: 1024}
        task_sets:
          - {type: math, path: data/math.jsonl, verifier: numeric, tolerance: 0.001, tools: [calculator]}
          - type: search_qa
            path: /abs/qa.jsonl
            verifier: contains
            tools: [search]
            system_prompt: Answer from the corpus.
        tree: {trajectories: 4, branching: 3, max_tool_steps: 5}
        sampling: {temperature: 0.7, top_p: 0.95, top_k: 40, max_step_tokens: 128, seed: 7}
        reward: {gamma: 0.95, aggregate: max, format_weight: 0.5, tool_efficiency: otc}
        advantage: {fork_weight: 0.5, normalize: group, fork_normalize: std, aepo: {low: 0.1, high: 0.6},
                    filter_zero_variance: true}
        batch: {tasks: 6, weights: {math: 2, search_qa: 1}, max_batches_in_flight: 3, seed: 11, count: 20}
        workers: {heartbeat_interval_ms: 500, heartbeat_liveness: 3, straggler_timeout_s: 60,
                  scripted_step_latency_ms: 5}
        system_prompt: You are careful.
        max_staleness: 2
        """

    static func parse(_ yaml: String, requirement: JobConfig.Requirement = .full) throws -> JobConfig {
        try JobConfig(yaml: yaml, file: "job.yaml", baseDirectory: URL(fileURLWithPath: "/jobs/demo"),
                      requirement: requirement)
    }

    static func error(_ yaml: String, requirement: JobConfig.Requirement = .full) -> JobConfigError? {
        do {
            _ = try parse(yaml, requirement: requirement)
            return nil
        } catch let error as JobConfigError {
            return error
        } catch {
            return nil
        }
    }

    @Test func everyKeyIsRead() throws {
        let job = try Self.parse(Self.fullJob)
        #expect(job.name == "demo")
        #expect(job.model.path == "/jobs/demo/models/smol.gguf")
        #expect(job.model.contextLength == 1024)
        #expect(job.taskSets.map(\.type) == ["math", "search_qa"])
        #expect(job.taskSets[0].path == "/jobs/demo/data/math.jsonl")
        #expect(job.taskSets[1].path == "/abs/qa.jsonl")
        #expect(job.taskSets[0].verifier == .numeric && job.taskSets[0].tolerance == 0.001)
        #expect(job.taskSets[1].systemPrompt == "Answer from the corpus.")
        #expect(job.tree.trajectories == 4 && job.tree.branching == 3 && job.tree.maxToolSteps == 5)
        #expect(job.sampling.topK == 40 && job.sampling.seed == 7 && job.sampling.topP == 0.95)
        #expect(job.reward.aggregate == .max && job.reward.toolEfficiency == .otc && job.reward.gamma == 0.95)
        #expect(job.advantage.normalize == .group && job.advantage.forkNormalize == .std)
        #expect(job.advantage.aepo == AEPOBounds(low: 0.1, high: 0.6))
        #expect(job.advantage.filterZeroVariance)
        #expect(job.batch.weights == ["math": 2, "search_qa": 1] && job.batch.count == 20)
        #expect(job.workers.heartbeatLiveness == 3 && job.workers.scriptedStepLatencyMs == 5)
        #expect(job.systemPrompt == "You are careful." && job.maxStaleness == 2)
    }

    @Test func defaultsFillWhatIsOmitted() throws {
        let job = try Self.parse("""
            model: {backend: scripted}
            task_sets: [{type: math, path: m.jsonl}]
            """)
        #expect(job.tree == TreeSettings())
        #expect(job.tree.trajectories == 8 && job.tree.branching == 2 && job.tree.maxToolSteps == 4)
        #expect(job.reward.gamma == 0.9 && job.reward.aggregate == .mean && job.reward.formatWeight == 1)
        #expect(job.advantage.normalize == .taskBatch && job.advantage.aepo == nil && job.advantage.forkWeight == 1)
        #expect(job.batch.tasks == 16 && job.batch.maxBatchesInFlight == 2 && job.batch.weights.isEmpty)
        #expect(job.workers.heartbeatIntervalMs == 1000 && job.workers.heartbeatLiveness == 5)
        #expect(job.taskSets[0].verifier == .exact)
        #expect(job.tools == ToolSettings())
    }

    @Test func theJobAsRunReadsBackEqual() throws {
        let job = try Self.parse(Self.fullJob)
        let text = try job.yamlText()
        let again = try JobConfig(yaml: text, file: "run/job.yaml")
        #expect(again == job)
        #expect(try again.yamlText() == text)
        #expect(text.contains("gamma: 0.95\n") && text.contains("tolerance: 0.001\n"))

        var numeric = JobConfig()
        numeric.name = "1e3"
        numeric.systemPrompt = "0.5"
        #expect(try JobConfig(yaml: numeric.yamlText(), requirement: .signalOnly) == numeric)
    }

    @Test func signalOnlyFileLoadsWithoutModelOrTaskSets() throws {
        let fixtures = Fixtures.directory.appendingPathComponent("advantages/worked-example.job.yaml")
        let job = try JobConfig.load(path: fixtures.path, requirement: .signalOnly)
        #expect(job.tree.trajectories == 4 && job.tree.maxToolSteps == 4)
        #expect(job.advantage.aepo == AEPOBounds(low: 0.2, high: 0.45))
        #expect(throws: JobConfigError.self) { try JobConfig.load(path: fixtures.path, requirement: .full) }
    }

    @Test func errorsNameLineAndKeyPath() {
        let yaml = """
            model: {backend: scripted}
            task_sets: [{type: math, path: m.jsonl}]
            batch:
              tasks: 4
              weights:
                math: -1
            """
        let error = Self.error(yaml)
        #expect(error?.code == .invalidValue)
        #expect(error?.line == 6)
        #expect(error?.keyPath == "batch.weights.math")
        #expect(error?.description.hasPrefix("job.yaml:6: batch.weights.math: must be ≥ 0") == true)
    }

    @Test func unknownKeysSuggestTheNearestName() {
        let error = Self.error("""
            model: {backend: scripted}
            task_sets: [{type: math, path: m.jsonl}]
            advantage:
              fork_wieght: 1
            """)
        #expect(error?.code == .unknownKey)
        #expect(error?.line == 4)
        #expect(error?.keyPath == "advantage.fork_wieght")
        #expect(error?.message.contains("did you mean 'fork_weight'?") == true)

        let topLevel = Self.error("model: {backend: scripted}\ntask_sets: [{type: m, path: m.jsonl}]\nbatchs: {}\n")
        #expect(topLevel?.keyPath == "batchs" && topLevel?.line == 3)
        #expect(topLevel?.message.contains("'batch'") == true)
    }

    @Test func choicesAreListed() {
        let error = Self.error("reward: {aggregate: median}", requirement: .signalOnly)
        #expect(error?.keyPath == "reward.aggregate" && error?.line == 1)
        #expect(error?.message.contains("mean, max") == true)
    }

    @Test func weightsMustNameEveryTaskTypeAndNoOther() {
        let unknown = Self.error("""
            model: {backend: scripted}
            task_sets: [{type: math, path: m.jsonl}, {type: qa, path: q.jsonl}]
            batch: {weights: {math: 1, mth: 1, qa: 1}}
            """)
        #expect(unknown?.keyPath == "batch.weights.mth" && unknown?.line == 3)
        #expect(unknown?.message.contains("did you mean 'math'") == true)
        let missing = Self.error("""
            model: {backend: scripted}
            task_sets: [{type: math, path: m.jsonl}, {type: qa, path: q.jsonl}]
            batch: {weights: {math: 1}}
            """)
        #expect(missing?.keyPath == "batch.weights" && missing?.message.contains("'qa'") == true)
    }

    @Test func fullJobsNeedAModelAndTaskSets() {
        #expect(Self.error("task_sets: [{type: m, path: m.jsonl}]")?.keyPath == "model")
        #expect(Self.error("model: {backend: scripted}")?.keyPath == "task_sets")
        #expect(Self.error("model: {backend: builtin}\ntask_sets: [{type: m, path: m.jsonl}]")?.keyPath == "model.path")
        let twice = Self.error("model: {backend: scripted}\ntask_sets: [{type: m, path: a}, {type: m, path: b}]")
        #expect(twice?.keyPath == "task_sets[1].type")
    }

    @Test func rangesAndConsistencyAreChecked() {
        #expect(Self.error("tree: {trajectories: 0}", requirement: .signalOnly)?.keyPath == "tree.trajectories")
        #expect(Self.error("reward: {gamma: 1.5}", requirement: .signalOnly)?.keyPath == "reward.gamma")
        #expect(Self.error("tree: {branching: two}", requirement: .signalOnly)?.message.contains("integer") == true)
        let aepo = Self.error("advantage:\n  aepo: {low: 0.5, high: 0.2}", requirement: .signalOnly)
        #expect(aepo?.keyPath == "advantage.aepo.high" && aepo?.line == 2)
        #expect(Self.error("advantage: {aepo: {low: 0.1}}", requirement: .signalOnly)?.keyPath == "advantage.aepo.high")
    }

    @Test func yamlSyntaxErrorsCarryALine() {
        let error = Self.error("tree: {trajectories: 4\nreward: [", requirement: .signalOnly)
        #expect(error?.code == .syntax)
        #expect(error?.line != nil)
    }

    @Test func unknownToolKeysAreRejected() throws {
        let text = try JobConfig().yamlText()
        let typo = text.replacingOccurrences(of: "\ntools:\n", with: "\ntools:\n  serach: {}\n")
        #expect(typo != text)
        let error = Self.error(typo, requirement: .signalOnly)
        #expect(error?.code == .unknownKey)
        #expect(error?.keyPath == "tools.serach")
        #expect(error?.message.contains("'search'") == true)
    }
}
