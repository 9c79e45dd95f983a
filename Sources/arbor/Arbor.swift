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
        subcommands: [ToolCommand.self, BenchCommand.self]
    )
}

/// `arbor bench …`: measurements printed beside a reference run in the same process.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks, each printed beside a reference measured in the same run.",
        discussion: "Example: arbor bench tools --json",
        subcommands: [BenchToolsCommand.self])
}
