import Foundation
import Testing
import TestSupport

/// Every command answers --help with what it does and an example (STYLE.md rule 18).
struct HelpTests {
    static let commands = ["run", "coordinator", "worker", "status", "show", "serve", "advantages"]

    func help(_ arguments: [String]) throws -> String {
        let process = try ChildProcess(Fixtures.arborBinary, arguments + ["--help"])
        _ = process.waitForExit(timeout: 30)
        return process.text
    }

    @Test(arguments: commands)
    func helpNamesTheCommandAndGivesAnExample(command: String) throws {
        let text = try help([command])
        #expect(text.contains("USAGE: arbor \(command)"))
        // An example is a command line under an "Example(s):" heading, not the USAGE line.
        let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        let heading = try #require(lines.firstIndex { $0.hasPrefix("Example") }, "no Example heading in:\n\(text)")
        let examples = lines[(heading + 1)...].prefix { !$0.isEmpty }
        #expect(examples.contains { $0.hasPrefix("arbor \(command) ") }, "no `arbor \(command) …` line under the heading in:\n\(text)")
    }

    @Test func rootHelpListsTheSubcommands() throws {
        let text = try help([])
        for command in Self.commands { #expect(text.contains(command)) }
    }

    @Test func badConfigIsAnErrorNamingTheKey() throws {
        let directory = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let job = directory.appendingPathComponent("job.yaml")
        let tasks = Fixtures.packageRoot.appendingPathComponent("examples/tasks/math.jsonl").path
        try "model: {backend: scripted}\nbatch: {tasks: 4, cuont: 3}\ntask_sets: [{type: math, path: \(tasks)}]\n"
            .write(to: job, atomically: true, encoding: .utf8)
        let process = try ChildProcess(
            Fixtures.arborBinary, ["coordinator", "--config", job.path, "--run-dir", directory.path])
        let status = process.waitForExit(timeout: 30)
        #expect(status != 0 && status != nil)
        #expect(process.text.contains("cuont"), "\(process.text)")
        #expect(process.text.contains("job.yaml:2"), "\(process.text)")
    }
}
