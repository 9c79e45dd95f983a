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
        subcommands: [ModelCommand.self, BenchCommand.self]
    )
}

/// `arbor bench`: throughput measurements beside a reference run.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure a part of Arbor beside a reference implementation.",
        discussion: "Example: arbor bench engine --json",
        subcommands: [BenchEngineCommand.self])
}
