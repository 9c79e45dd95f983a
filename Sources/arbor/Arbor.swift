import ArgumentParser

/// The one Arbor CLI: a thin tree of subcommands over the Worker and Coordinator libraries.
@main
struct Arbor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "arbor",
        abstract: "Distributed rollouts for reinforcement learning of tool-using language models.",
        discussion: """
            Start a local cluster with `arbor run --config job.yaml --workers 2 --run-dir runs/demo`.
            """,
        subcommands: [
            RunCommand.self, CoordinatorCommand.self, WorkerCommand.self, StatusCommand.self, ShowCommand.self,
            ServeCommand.self, AdvantagesCommand.self, ToolCommand.self, ModelCommand.self, BenchCommand.self,
            KeygenCommand.self,
        ]
    )
}
