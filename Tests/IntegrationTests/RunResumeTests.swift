import Foundation
import Testing
import TestSupport

/// `arbor run` on a run directory that already holds the whole job (a second `make demo`, say):
/// it says so and exits at once, starting no worker, instead of reporting an empty run.
struct RunResumeTests {
    @Test func aSecondRunOfAFinishedJobSaysItIsAlreadyCompleteAndStartsNoWorker() throws {
        let directory = Fixtures.temporaryDirectory("arbor-run-resume")
        defer { try? FileManager.default.removeItem(at: directory) }
        let examples = Fixtures.packageRoot.appendingPathComponent("examples").path
        let job = directory.appendingPathComponent("job.yaml").path
        try """
            name: resume-finished
            model: {backend: scripted}
            task_sets:
              - {type: math, path: \(examples)/tasks/math.jsonl, verifier: numeric, tools: [calculator]}
            tree: {trajectories: 2, branching: 2, max_tool_steps: 1}
            batch: {tasks: 2, seed: 5, count: 1}
            workers: {scripted_step_latency_ms: 1}
            """.write(toFile: job, atomically: true, encoding: .utf8)
        let runDirectory = directory.appendingPathComponent("run").path
        func run() throws -> ChildProcess {
            try ChildProcess(
                Fixtures.arborBinary,
                ["run", "--config", job, "--workers", "1", "--run-dir", runDirectory,
                 "--bind", "tcp://127.0.0.1:0", "--control", "tcp://127.0.0.1:0"])
        }

        let first = try run()
        #expect(first.waitForExit(timeout: 120) == 0, "the first run failed:\n\(first.text)")
        #expect(first.text.contains("job resume-finished: complete, 1/1 batch(es) written"), "\(first.text)")

        let second = try run()
        #expect(second.waitForExit(timeout: 30) == 0, "the second run failed:\n\(second.text)")
        let expected = "job resume-finished: already complete in \(runDirectory) (1/1 batches written by an earlier run)"
        #expect(second.text.contains(expected), "\(second.text)")
        #expect(!second.text.contains("starting 1 worker"), "a finished job starts no worker:\n\(second.text)")
    }
}
