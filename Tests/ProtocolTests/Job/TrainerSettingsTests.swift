import ArborProtocol
import Foundation
import Testing

/// `trainer:` in job.yaml: the trainer command `arbor run` starts, its environment, and what a
/// command implies (issue 13).
@Suite struct TrainerSettingsTests {
    static let base = """
        model: {backend: scripted}
        task_sets: [{type: math, path: math.jsonl}]

        """

    @Test func anArgvListIsKeptAndImpliesRequired() throws {
        let job = try JobConfigTests.parse(
            Self.base + "trainer: {command: [python3, -m, arbor_client.trainer], env: {OMP_NUM_THREADS: 1, MODE: fast}}")
        #expect(job.trainer.command == ["python3", "-m", "arbor_client.trainer"])
        #expect(job.trainer.required, "a job that starts its trainer requires it")
        #expect(job.trainer.env == ["OMP_NUM_THREADS": "1", "MODE": "fast"])
        #expect(job.trainer.leaseTimeoutS == 600)
    }

    @Test func aStringRunsThroughTheShell() throws {
        let job = try JobConfigTests.parse(Self.base + "trainer:\n  command: python3 train.py --steps 2 > log.txt\n")
        #expect(job.trainer.command == ["/bin/sh", "-c", "python3 train.py --steps 2 > log.txt"])
        #expect(job.trainer.required)
    }

    @Test func withoutACommandNothingChanges() throws {
        let job = try JobConfigTests.parse(Self.base + "trainer: {lease_timeout_s: 30}")
        #expect(job.trainer.command == nil && !job.trainer.required && job.trainer.env.isEmpty)
    }

    @Test func theJobAsRunKeepsCommandAndEnvironment() throws {
        let job = try JobConfigTests.parse(Self.base + "trainer: {command: 'python3 t.py', env: {B: '2', A: x}}")
        let text = try job.yamlText()
        #expect(try JobConfig(yaml: text) == job)
        let a = try #require(text.range(of: "A: x")), b = try #require(text.range(of: "B: '2'"))
        #expect(a.lowerBound < b.lowerBound, "env keys are written sorted:\n\(text)")
    }

    @Test(arguments: [
        ("trainer: {command: []}", "trainer.command", "must name a program"),
        ("trainer: {command: ''}", "trainer.command", "must not be empty"),
        ("trainer: {command: {python: t.py}}", "trainer.command", "list of strings"),
        ("trainer: {command: [python3, '']}", "trainer.command[1]", "non-empty string"),
        ("trainer: {command: [t], required: false}", "trainer.required", "requires it"),
        ("trainer: {command: [t], env: {A: null}}", "trainer.env.A", "must be a string"),
        ("trainer: {command: [t], env: [A]}", "trainer.env", "mapping"),
        ("trainer: {comand: [t]}", "trainer.comand", "did you mean 'command'"),
    ])
    func badTrainerSettingsNameTheKey(yaml: String, keyPath: String, message: String) throws {
        let error = try #require(JobConfigTests.error(Self.base + yaml), "\(yaml) must be refused")
        #expect(error.keyPath == keyPath, "\(error)")
        #expect(error.message.contains(message), "\(error)")
        #expect(error.line == 3, "\(error)")
    }
}
