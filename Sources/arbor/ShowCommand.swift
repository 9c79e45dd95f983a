import ArgumentParser
import Coordinator
import Foundation

/// `arbor show`: one rollout tree of a run directory, drawn in the terminal.
struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Print a rollout tree of a run: its steps, tool calls, step rewards R(s) and fork advantages F(s).",
        discussion: """
            Reads RUN_DIR/trees/batch-NNNNNN.jsonl and scores it as `arbor advantages` does, with \
            the job in RUN_DIR/job.yaml; no coordinator needs to run. Each node prints as \
            [id] R(s) F(s) format and checks, then its text, tool calls and results; leaves add the \
            outcome and the trajectory's reward r and advantage A; the paths to the best and worst \
            leaf are marked. Colour only when standard output is a terminal. Prompts are decoded \
            with the job's model tokenizer when its file is there.

            Examples:
              arbor show runs/demo
              arbor show runs/demo --batch 2 --task math-0007 --full
            """)

    @Argument(help: "The run directory (what --run-dir named).")
    var runDir: String

    @Option(help: "Batch to show (default: the latest written).")
    var batch: Int?

    @Option(help: "Task whose tree to show (default: the batch's first).")
    var task: String?

    @Flag(help: "Print every text whole instead of cutting it at --width characters.")
    var full = false

    @Option(help: "Characters of text shown per line before it is cut short.")
    var width = 100

    @Flag(help: "Print the view as JSON (the /api/trees document) instead of a drawing.")
    var json = false

    func validate() throws {
        if width < 8 { throw ValidationError("--width must be at least 8; got \(width)") }
    }

    func run() throws {
        let trees = try RunTrees(runDirectory: URL(fileURLWithPath: runDir))
        var view = try trees.view(batch: batch, task: task, text: TreeTextDecoder.forJob(trees.config))
        if task == nil { view.trees = Array(view.trees.prefix(1)) }
        if json {
            print(view.json())
            return
        }
        guard let tree = view.trees.first else {
            throw ValidationError("batch \(view.batch) of \(runDir) holds no trees")
        }
        let printer = TreePrinter(width: full ? nil : width, colour: isatty(STDOUT_FILENO) == 1)
        print(printer.text(batch: view.batch, tree: tree))
        let others = view.taskIDs.filter { $0 != tree.taskID }
        if !others.isEmpty {
            print("\nother tasks in batch \(view.batch) (--task): \(others.joined(separator: " "))")
        }
    }
}
