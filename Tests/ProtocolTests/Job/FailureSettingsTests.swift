import ArborProtocol
import Foundation
import Testing

/// job.yaml `failures:`, `workers.rollout_timeout_s` and `workers.scripted_faults` (issue 16).
@Suite struct FailureSettingsTests {
    static let job = """
        model: {backend: scripted}
        task_sets: [{type: math, path: /t/math.jsonl}]
        failures: {tool_infra_error: mask, timeout: drop, max_retries: 1, after_retries: mask}
        workers:
          rollout_timeout_s: 30
          scripted_faults: {malformed_tree: 0.05, tool_infra_error: 0.05, backend_error: 0.05, hang: 0.05}
        """

    @Test func readsEveryKeyAndDefaultsTheRest() throws {
        let config = try JobConfig(yaml: Self.job)
        #expect(config.failures.policy(for: .toolInfraError) == .mask)
        #expect(config.failures.policy(for: .timeout) == .drop)
        #expect(config.failures.policy(for: .backendError) == .retry)
        #expect(config.failures.maxRetries == 1)
        #expect(config.failures.afterRetries == .mask)
        #expect(config.workers.rolloutTimeoutS == 30)
        #expect(config.workers.scriptedFaults.hang == 0.05)
        let spec = RolloutSpec(job: config, seed: 1, systemPrompt: "")
        #expect(spec.scriptedFaults.malformedTree == 0.05)
        // Evals measure the policy: no faults injected there.
        #expect(!RolloutSpec(evalOf: config, seed: 1, systemPrompt: "").hasScriptedFaults)
    }

    @Test func defaultsAreRetryTwiceThenDrop() throws {
        let config = try JobConfig(yaml: "model: {backend: scripted}\ntask_sets: [{type: math, path: /t/m.jsonl}]\n")
        for reason in RolloutOutcome.failures { #expect(config.failures.policy(for: reason) == .retry) }
        #expect(config.failures.maxRetries == 2)
        #expect(config.failures.afterRetries == .drop)
        #expect(config.workers.rolloutTimeoutS == 0)
        #expect(!config.workers.scriptedFaults.isActive)
    }

    @Test func theJobAsRunReadsBackEqual() throws {
        let config = try JobConfig(yaml: Self.job)
        #expect(try JobConfig(yaml: try config.yamlText()) == config)
    }

    @Test(arguments: [
        ("failures: {timeout: skip}", "failures.timeout", "retry, drop, mask"),
        ("failures: {model_error: drop}", "failures.model_error", "unknown key"),
        ("failures: {after_retries: retry}", "failures.after_retries", "drop, mask"),
        ("workers: {scripted_faults: {hang: 1.5}}", "workers.scripted_faults.hang", "0.0...1.0"),
        ("workers: {rollout_timeout_s: -1}", "workers.rollout_timeout_s", "≥ 0"),
    ])
    func badValuesNameTheirKey(_ line: String, _ keyPath: String, _ hint: String) throws {
        let yaml = "model: {backend: scripted}\ntask_sets: [{type: math, path: /t/m.jsonl}]\n" + line + "\n"
        #expect {
            _ = try JobConfig(yaml: yaml)
        } throws: { error in
            guard let error = error as? JobConfigError else { return false }
            return error.keyPath == keyPath && "\(error)".contains(hint)
        }
    }
}
