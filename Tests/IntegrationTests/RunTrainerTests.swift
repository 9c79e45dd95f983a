import Foundation
import Testing
import TestSupport

/// `arbor run` with the trainer in the job and an eval per policy version (issue 13): scripted
/// workers, and a small Python trainer on the installed (or source) `arbor_client` that pulls,
/// acknowledges and publishes a new version every two batches. A trainer that crashes fails the
/// run with its exit status and last lines.
@Suite(.serialized)
struct RunTrainerTests {
    /// The Python that runs the trainer script: `ARBOR_TEST_PYTHON`, else `python3` on PATH.
    static let python = ProcessInfo.processInfo.environment["ARBOR_TEST_PYTHON"] ?? "python3"
    static let clientSource = Fixtures.packageRoot.appendingPathComponent("clients/python").path

    /// Whether `python` can import arbor_client (installed, or from clients/python).
    static let clientImports: Bool = {
        guard let process = try? ChildProcess(
            "/usr/bin/env", [python, "-c", "import arbor_client"], environment: ["PYTHONPATH": clientSource])
        else { return false }
        return process.waitForExit(timeout: 60) == 0
    }()

    static let trainerScript = #"""
        import json, os, sys, time
        import arbor_client

        every, crash_after = int(sys.argv[1]), int(sys.argv[2])
        names = ["ARBOR_CONTROL", "ARBOR_RUN_DIR", "ARBOR_MODEL", "ARBOR_TEMPERATURE", "TRAINER_FLAVOUR"]
        with open("trainer-env.json", "w") as out:
            json.dump({**{name: os.environ.get(name) for name in names}, "cwd": os.getcwd()}, out)
        version = pulled = 0
        with arbor_client.Client(os.environ["ARBOR_CONTROL"], timeout=60) as client:
            while (batch := client.pull()) is not None:
                pulled += 1
                print(f"batch {batch.index}: {len(batch)} rows", flush=True)
                client.ack(batch)
                if crash_after and pulled >= crash_after:
                    print("simulated crash after batch", batch.index, flush=True)
                    sys.exit(3)
                if pulled % every == 0:
                    # The status document carries this version's eval before the next version.
                    deadline = time.time() + 30
                    while version not in [e["policy_version"] for e in client.status().get("eval") or []]:
                        if time.time() > deadline:
                            print("no eval of version", version, "in the status", flush=True)
                            sys.exit(4)
                        time.sleep(0.05)
                    version += 1
                    path = os.path.join(os.environ["ARBOR_RUN_DIR"], f"policy-{version}.gguf")
                    with open(path, "wb") as weights:
                        weights.write(b"the scripted backend ignores the weights")
                    client.publish_policy(version, path)
                    print("published version", version, flush=True)
        print(f"done: {pulled} batches, last version {version}", flush=True)
        """#

    /// A job over the example task sets with a held-out eval and the trainer script as its
    /// command; returns the job file's path.
    func writeJob(in directory: URL, batches: Int, crashAfter: Int) throws -> String {
        let examples = Fixtures.packageRoot.appendingPathComponent("examples").path
        try Self.trainerScript.write(to: directory.appendingPathComponent("trainer.py"), atomically: true, encoding: .utf8)
        let job = """
            name: trainer-in-the-job
            model: {backend: scripted}
            task_sets:
              - {type: math, path: \(examples)/tasks/math.jsonl, verifier: numeric, tools: [calculator]}
              - {type: search_qa, path: \(examples)/tasks/search_qa.jsonl, verifier: contains, tools: [search]}
            tree: {trajectories: 2, branching: 2, max_tool_steps: 2}
            batch: {tasks: 4, weights: {math: 1, search_qa: 1}, max_batches_in_flight: 2, seed: 3, count: \(batches)}
            workers: {heartbeat_interval_ms: 200, heartbeat_liveness: 5, scripted_step_latency_ms: 1}
            eval:
              task_ids: [math-0001, math-0002, math-0003, search-0001, search-0002]
              tasks: 4
              decoding: greedy
            trainer:
              command: [\(Self.python), trainer.py, "2", "\(crashAfter)"]
              env: {PYTHONPATH: \(Self.clientSource), TRAINER_FLAVOUR: scripted}
            """
        let path = directory.appendingPathComponent("job.yaml").path
        try job.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func run(job: String, runDirectory: URL) throws -> ChildProcess {
        try ChildProcess(
            Fixtures.arborBinary,
            ["run", "--config", job, "--workers", "2", "--slots", "2", "--run-dir", runDirectory.path,
             "--bind", "tcp://127.0.0.1:0", "--control", "tcp://127.0.0.1:0", "--trainer-grace", "5"])
    }

    @Test func theTrainerRunsWithTheJobAndEveryVersionIsEvaluated() throws {
        try #require(Self.clientImports, "\(Self.python) cannot import arbor_client (run scripts/install-test-deps)")
        let directory = Fixtures.temporaryDirectory("arbor-run-trainer")
        defer { try? FileManager.default.removeItem(at: directory) }
        let runDirectory = directory.appendingPathComponent("run")
        let job = try writeJob(in: directory, batches: 4, crashAfter: 0)
        let arbor = try run(job: job, runDirectory: runDirectory)
        let status = arbor.waitForExit(timeout: 180)
        #expect(status == 0, "arbor run failed:\n\(arbor.text)")

        // The trainer ran in the job's directory with the documented environment.
        let envData = try Data(contentsOf: directory.appendingPathComponent("trainer-env.json"))
        let env = try #require(try JSONSerialization.jsonObject(with: envData) as? [String: Any])
        #expect((env["ARBOR_CONTROL"] as? String)?.hasPrefix("tcp://127.0.0.1:") == true, "\(env)")
        #expect(env["ARBOR_CONTROL"] as? String != "tcp://127.0.0.1:0", "the bound port, not the requested one")
        #expect(env["ARBOR_RUN_DIR"] as? String == runDirectory.standardizedFileURL.path)
        #expect(env["ARBOR_MODEL"] as? String == "")
        #expect(env["ARBOR_TEMPERATURE"] as? String == "1.0")
        #expect(env["TRAINER_FLAVOUR"] as? String == "scripted")
        #expect(env["cwd"] as? String == directory.standardizedFileURL.path)
        #expect(arbor.lines.contains("[trainer] published version 2"), "\(arbor.text)")
        #expect(arbor.lines.contains("[trainer] done: 4 batches, last version 2"), "\(arbor.text)")

        // One eval line per version, 0 (at the start) and after each of the two publishes.
        let text = try String(contentsOf: runDirectory.appendingPathComponent("eval.jsonl"), encoding: .utf8)
        let lines = try text.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        #expect(lines.map { $0["policy_version"] as? Int } == [0, 1, 2], "\(text)")
        for line in lines {
            for key in ["tasks", "mean_reward", "accuracy", "tool_call_rate", "mean_tokens", "stderr_reward", "seconds",
                        "timestamp", "by_type"] {
                #expect(line[key] != nil, "\(key) missing in \(line)")
            }
            #expect(line["tasks"] as? Int == 4)
            let byType = try #require(line["by_type"] as? [String: [String: Any]])
            #expect(Set(byType.keys) == ["math", "search_qa"], "4 tasks taken from both types in turn")
            #expect(byType.values.reduce(0) { $0 + ($1["tasks"] as? Int ?? 0) } == 4)
        }

        // Held-out tasks never reached a training tree, and no eval tree is a training row.
        let trees = try FileManager.default.contentsOfDirectory(
            at: runDirectory.appendingPathComponent("trees"), includingPropertiesForKeys: nil)
        var trainedIDs: Set<String> = []
        for file in trees where file.pathExtension == "jsonl" {
            for line in try String(contentsOf: file, encoding: .utf8).split(separator: "\n") {
                let tree = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                if let id = tree?["task_id"] as? String { trainedIDs.insert(id) }
            }
        }
        #expect(trainedIDs.count > 0)
        #expect(trainedIDs.isDisjoint(with: ["math-0001", "math-0002", "math-0003", "search-0001", "search-0002"]))

        // The end-of-run summary shows the eval table from the final status document.
        #expect(arbor.text.contains("eval per policy version:"), "\(arbor.text)")
        for version in 0...2 {
            #expect(arbor.lines.contains { $0.trimmingCharacters(in: .whitespaces).hasPrefix("v\(version) ") }, "v\(version) row")
        }
    }

    @Test func aCrashingTrainerFailsTheRunWithItsStatusAndLastLines() throws {
        try #require(Self.clientImports, "\(Self.python) cannot import arbor_client (run scripts/install-test-deps)")
        let directory = Fixtures.temporaryDirectory("arbor-run-trainer-crash")
        defer { try? FileManager.default.removeItem(at: directory) }
        let job = try writeJob(in: directory, batches: 6, crashAfter: 1)
        let arbor = try run(job: job, runDirectory: directory.appendingPathComponent("run"))
        let status = try #require(arbor.waitForExit(timeout: 120), "arbor run did not stop after the trainer crashed")
        #expect(status != 0)
        let text = arbor.text
        #expect(text.contains("the trainer exited with status 3 before the job completed"), "\(text)")
        #expect(text.contains("| simulated crash after batch 1"), "the trainer's last lines are shown:\n\(text)")
        #expect(text.contains("[trainer] batch 1:"), "trainer lines are prefixed:\n\(text)")
        // Every worker is gone with the run.
        #expect(!text.contains("cannot start worker"))
    }

    /// Ctrl-C stops the trainer and what it started (its process group), not only the workers.
    @Test func ctrlCStopsTheTrainerAndItsChildren() throws {
        let directory = Fixtures.temporaryDirectory("arbor-run-trainer-interrupt")
        defer { try? FileManager.default.removeItem(at: directory) }
        let job = try writeJob(in: directory, batches: 50, crashAfter: 0)
        let childPID = directory.appendingPathComponent("child.pid").path
        let arbor = try ChildProcess(
            Fixtures.arborBinary,
            ["run", "--config", job, "--workers", "1", "--run-dir", directory.appendingPathComponent("run").path,
             "--bind", "tcp://127.0.0.1:0", "--control", "tcp://127.0.0.1:0", "--trainer-grace", "2",
             "--trainer", "sleep 300 & echo $! > \(childPID); echo started; wait"])
        #expect(arbor.waitForLine(containing: "[trainer] started", timeout: 60) != nil, "\(arbor.text)")
        let pid = try #require(Int32(try String(contentsOfFile: childPID, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(kill(pid, 0) == 0, "the trainer's child runs")
        arbor.signal(SIGINT)
        let status = try #require(arbor.waitForExit(timeout: 60), "arbor run did not stop on SIGINT:\n\(arbor.text)")
        #expect(status != 0, "an interrupted job is not complete")
        #expect(!arbor.text.contains("arbor run: the trainer"), "stopping the trainer is not its failure:\n\(arbor.text)")
        // The child is gone (a zombie until its reaper runs counts as gone: signal 0 fails with ESRCH).
        let deadline = Date().addingTimeInterval(10)
        while kill(pid, 0) == 0 && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        #expect(kill(pid, 0) != 0, "the trainer's child \(pid) outlived arbor run")
    }
}
