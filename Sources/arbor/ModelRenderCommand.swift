import ArborProtocol
import ArgumentParser
import Coordinator
import Foundation
import Worker

/// `arbor model render`: written tool-using conversations → the token ids a rollout would hold.
struct ModelRender: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Render conversations for a job's tasks into token ids and masks (a supervised warm start).",
        discussion: """
            Each line of --traces is {"task": ID, "messages": [...]}: the assistant and tool turns \
            that follow the task's prompt, e.g. an assistant turn with one <tool_call>, a tool turn \
            with the tool's output, and an assistant turn with <answer>…</answer>. The task is looked \
            up in the job's task sets and its prompt is built by the rollout code itself (the job's \
            system prompt, the task's tools block, the model's chat template), so the ids equal what \
            a rollout of that task holds when it samples these turns.

            Writes one line per trace to --out: {"ids": [int], "mask": [0|1]}, mask 1 on the \
            assistant's own tokens (its turns and the <|im_end|> that ends its answer), 0 on the \
            prompt, on turn ends it does not sample and on tool responses.

            A trace a rollout could not produce is an error naming its line: a tool step that does \
            not end at its </tool_call>, more tool steps than tree.max_tool_steps, a tool turn that \
            differs from what the job's tool returns, or an answer the task's verifier does not \
            score +1.

            Example:
              arbor model render --config examples/train.yaml --traces examples/tasks/warm_start.jsonl \\
                --out runs/warm_start.ids.jsonl
            """)

    @Option(help: ArgumentHelp("The job file: its task sets, system prompt, tools and model.", valueName: "job.yaml"))
    var config: String

    @Option(help: ArgumentHelp("Conversations, one JSON object per line.", valueName: "jsonl"))
    var traces: String

    @Option(help: ArgumentHelp("Where to write the rendered rows (JSONL).", valueName: "jsonl"))
    var out: String

    @Option(help: ArgumentHelp("GGUF file whose tokenizer to use (default: the job's model.path).", valueName: "path"))
    var model: String?

    func run() throws {
        let job = try JobConfig.load(path: config)
        guard let modelPath = model ?? job.model.path else {
            throw ValidationError("the job has no model.path; give the GGUF file with --model")
        }
        let catalog = try TaskCatalog(config: job)
        let planner = try RequestPlanner(config: job, catalog: catalog)
        let renderer = try TraceRenderer(modelPath: modelPath, jobYAML: try job.yamlText())
        let text: String
        do {
            text = try String(contentsOfFile: traces, encoding: .utf8)
        } catch {
            throw WorkerError(.io, "cannot read \(traces)", cause: error)
        }
        var lines: [String] = []
        var tokens = 0
        var trained = 0
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
        where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            let place = "\(traces):\(number + 1)"
            let (taskID, messages) = try Self.trace(String(line), place: place)
            guard let task = catalog[taskID] else {
                throw WorkerError(.invalidArgument, "\(place): task '\(taskID)' is in none of the job's task sets")
            }
            let row: TraceRenderer.Row
            do {
                row = try renderer.render(messages, for: planner.request(for: task, batch: 1, slot: 0))
            } catch let error as WorkerError {
                throw WorkerError(error.code, "\(place) (task \(taskID)): \(error.message)", cause: error.cause)
            }
            tokens += row.ids.count
            trained += row.mask.reduce(0, +)
            lines.append(
                "{\"ids\": [" + row.ids.map(String.init).joined(separator: ", ") + "], \"mask\": ["
                    + row.mask.map(String.init).joined(separator: ", ") + "]}\n")
        }
        do {
            try Data(lines.joined().utf8).write(to: URL(fileURLWithPath: out))
        } catch {
            throw WorkerError(.io, "cannot write \(out)", cause: error)
        }
        print("rendered \(lines.count) traces to \(out): \(tokens) tokens, \(trained) of them the assistant's")
    }

    /// The task id and messages of one traces line.
    static func trace(_ line: String, place: String) throws -> (String, [ChatMessage]) {
        func fail(_ problem: String) -> WorkerError { WorkerError(.invalidArgument, "\(place): \(problem)") }
        guard let object = (try? JSONValue.parse(line))?.objectValue else {
            throw fail("not a JSON object {\"task\", \"messages\"}")
        }
        guard let taskID = object["task"]?.stringValue else { throw fail("field \"task\": must be a task id string") }
        guard case .array(let items)? = object["messages"], !items.isEmpty else {
            throw fail("field \"messages\": must be a non-empty list of {\"role\", \"content\"}")
        }
        let messages = try items.enumerated().map { position, item in
            guard let fields = item.objectValue, let content = fields["content"]?.stringValue,
                let role = fields["role"]?.stringValue.flatMap(ChatMessage.Role.init(rawValue:)),
                role == .assistant || role == .tool
            else {
                throw fail("messages[\(position)]: must be {\"role\": \"assistant\" or \"tool\", \"content\": string}")
            }
            return ChatMessage(role, content)
        }
        return (taskID, messages)
    }
}
