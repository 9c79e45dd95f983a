import ArborProtocol
import ArgumentParser
import Foundation
import Worker
import Yams

/// `arbor tool …`: try the job's tools by hand.
struct ToolCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tool",
        abstract: "Run the job's tools by hand, exactly as a worker would.",
        discussion: """
            Example: arbor tool call calculator '{"expression": "2^10 / 3"}'
            """,
        subcommands: [Call.self])

    /// `arbor tool call NAME 'JSON-ARGS' [--config job.yaml]`.
    struct Call: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Call one tool and print {\"ok\", \"output\", \"error\"} as JSON.",
            discussion: """
                Builds the registry from the job's `tools:` section (defaults without --config), checks the
                arguments against the tool's schema, runs the call under its limits and sandbox, and prints
                one JSON object. Exits 0 when the call ran (even if the tool failed), 1 on bad setup.
                Example: arbor tool call python '{"code": "print(6 * 7)"}' --config job.yaml
                """)

        @Argument(help: "The tool's name, e.g. python, calculator, search, or an MCP server's tool.")
        var name: String

        @Argument(help: "The arguments as a JSON object, e.g. '{\"code\": \"print(1)\"}'.")
        var arguments: String = "{}"

        @Option(help: "job.yaml whose `tools:` section configures the tools.")
        var config: String?

        @Flag(help: "Also print the tool list in the prompt's <tools> form to stderr.")
        var showPrompt = false

        func run() async throws {
            let (settings, directory) = try ToolSettingsFile.load(config)
            let registry = try await ToolRegistry.build(settings: settings, jobDirectory: directory)
            // No process outlives the command: the warm pool (and refills in flight), the MCP
            // servers, and the sandbox of this call, which the reaper may not have ended yet.
            defer {
                registry.shutDown()
                PythonTool.tearDownSandboxes()
            }
            if showPrompt { FileHandle.standardError.write(Data((registry.promptBlock() + "\n").utf8)) }
            let executor = ToolExecutor(registry: registry)
            var tracker = ToolFailureTracker(threshold: 0)
            let callText: String
            do {
                let parsedArguments = try JSONValue.parse(arguments)
                callText = "<tool_call>" + JSONValue.object(["name": .string(name), "arguments": parsedArguments])
                    .compactText + "</tool_call>"
            } catch {
                throw ValidationError("the arguments are not valid JSON: \(arguments)")
            }
            let outcome = await executor.executeStep(callText, tracker: &tracker)
            let result = outcome.results.first
            let reply: JSONValue = [
                "ok": .bool(result?.ok ?? false),
                "output": .string(result?.output ?? ""),
                "error": .string(result?.error.map { "\($0.code.rawValue): \($0.message)" } ?? ""),
            ]
            print(reply.compactText)
        }
    }
}

/// Reads the `tools:` section of a job file (the rest of the file is the coordinator's).
enum ToolSettingsFile {
    private struct Job: Decodable {
        var tools: ToolSettings?
    }

    /// The settings and the job file's directory; defaults when `path` is nil. Errors name the file.
    static func load(_ path: String?) throws -> (ToolSettings, String?) {
        guard let path else { return (ToolSettings(), nil) }
        do {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            let job = try YAMLDecoder().decode(Job.self, from: text)
            return (job.tools ?? ToolSettings(), URL(fileURLWithPath: path).deletingLastPathComponent().path)
        } catch DecodingError.dataCorrupted(let context) {
            throw ValidationError("\(path): \(context.debugDescription)")
        } catch {
            throw ValidationError("\(path): \(error)")
        }
    }
}
