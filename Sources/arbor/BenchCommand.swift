import ArgumentParser

/// `arbor bench`: performance figures, each printed beside a reference run in the same invocation.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure Arbor beside a reference (raw ZeroMQ, llama.cpp, a bare spawn) in one run.",
        discussion: """
            Example:
              arbor bench transport --json
            """,
        subcommands: [
            BenchTransportCommand.self, BenchEngineCommand.self, BenchToolsCommand.self, BenchRolloutCommand.self,
        ])
}
