import ArborProtocol
import Foundation
import Testing

@testable import Coordinator

/// JSONL task sets: fields, per-line overrides, and errors that name file:line and the field.
@Suite struct TaskSetTests {
    static let settings: TaskSetSettings = {
        var settings = TaskSetSettings(type: "math", path: "math.jsonl")
        settings.verifier = .numeric
        settings.tolerance = 0.01
        settings.tools = ["calculator"]
        return settings
    }()

    static func failure(_ text: String) -> String? {
        do {
            _ = try TaskSet(settings: settings, jsonl: text, file: "math.jsonl")
            return nil
        } catch let error as CoordinatorError {
            #expect(error.code == .invalidDataset)
            return error.description
        } catch {
            return nil
        }
    }

    @Test func readsTasksAndSkipsBlankLines() throws {
        let text = """
            {"id": "a1", "prompt": "2+2?", "answer": 4}

            {"id": 7, "prompt": "Name it", "answer": "Paris", "verifier": "exact", "tools": [], "tolerance": 0}
            \t
            """
        let set = try TaskSet(settings: Self.settings, jsonl: text, file: "math.jsonl")
        #expect(set.tasks.count == 2)
        #expect(set.tasks[0].id == "a1" && set.tasks[0].answer == "4" && set.tasks[0].type == "math")
        #expect(set.tasks[0].verifier == .numeric && set.tasks[0].tolerance == 0.01)
        #expect(set.tasks[0].tools == ["calculator"] && set.tasks[0].location == "math.jsonl:1")
        #expect(set.tasks[1].id == "7" && set.tasks[1].verifier == .exact && set.tasks[1].tools.isEmpty)
        #expect(set.tasks[1].tolerance == 0 && set.tasks[1].location == "math.jsonl:3")
    }

    @Test func errorsNameFileLineAndField() {
        #expect(Self.failure("{\"id\": \"a\", \"prompt\": \"p\", \"answer\": 1}\n{\"id\": \"b\", \"prompt\": \"p\"}")
            == "math.jsonl:2: field \"answer\": missing")
        #expect(Self.failure("\n\n{\"id\": \"a\", \"prompt\": [1], \"answer\": 1}")?
            .hasPrefix("math.jsonl:3: field \"prompt\": must be a string") == true)
        #expect(Self.failure("{\"id\": \"a\", \"prompt\": \"p\", \"answer\": 1, \"verifier\": \"fuzzy\"}")?
            .hasPrefix("math.jsonl:1: field \"verifier\": must be one of exact") == true)
        #expect(Self.failure("{\"id\": \"a\", \"prompt\": \"p\", \"answer\": 1, \"tolerance\": -1}")?
            .hasPrefix("math.jsonl:1: field \"tolerance\"") == true)
        #expect(Self.failure("{\"id\": \"a\", \"prompt\": \"p\", \"answer\": 1, \"tools\": \"calc\"}")?
            .hasPrefix("math.jsonl:1: field \"tools\"") == true)
        #expect(Self.failure("{\"id\": \"a\", \"prompt\": \"p\", \"answer\": 1\n")?.hasPrefix("math.jsonl:1: not valid JSON") == true)
        #expect(Self.failure("[1, 2]")?.hasPrefix("math.jsonl:1: must be a JSON object") == true)
        #expect(Self.failure("\n\n")?.contains("has no tasks") == true)
    }

    @Test func duplicateIDsAreRejected() {
        let text = """
            {"id": "a", "prompt": "p", "answer": 1}
            {"id": "b", "prompt": "p", "answer": 1}
            {"id": "a", "prompt": "q", "answer": 2}
            """
        #expect(Self.failure(text) == "math.jsonl:3: field \"id\": 'a' repeats the id of line 1")
    }

    @Test func idsAreUniqueAcrossTheJob() throws {
        let math = try TaskSet(settings: Self.settings, jsonl: "{\"id\": \"x\", \"prompt\": \"p\", \"answer\": 1}", file: "math.jsonl")
        let other = try TaskSet(
            settings: TaskSetSettings(type: "qa", path: "qa.jsonl"),
            jsonl: "{\"id\": \"y\", \"prompt\": \"p\", \"answer\": 1}\n{\"id\": \"x\", \"prompt\": \"p\", \"answer\": 1}",
            file: "qa.jsonl")
        #expect {
            _ = try TaskCatalog(sets: [math, other])
        } throws: { error in
            "\(error)" == "qa.jsonl:2: field \"id\": 'x' is already the id of math.jsonl:1"
        }
    }

    @Test func loadsFromDiskThroughTheJob() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("arbor-taskset-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "{\"id\": \"m1\", \"prompt\": \"1+1\", \"answer\": 2}\n".write(
            to: directory.appendingPathComponent("math.jsonl"), atomically: true, encoding: .utf8)
        let jobFile = directory.appendingPathComponent("job.yaml")
        try "model: {backend: scripted}\ntask_sets: [{type: math, path: math.jsonl}]\n".write(
            to: jobFile, atomically: true, encoding: .utf8)
        let job = try JobConfig.load(path: jobFile.path)
        let catalog = try TaskCatalog(config: job)
        #expect(catalog["m1"]?.prompt == "1+1")
        #expect(catalog.taskCounts == ["math": 1])

        var missing = job
        missing.taskSets[0].path = directory.appendingPathComponent("nope.jsonl").path
        #expect(throws: CoordinatorError.self) { try TaskCatalog(config: missing) }
    }
}
