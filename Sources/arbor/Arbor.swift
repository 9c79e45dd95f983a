import ArgumentParser
import Foundation
import Kernels

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

    /// Checks what the kernels read from the environment (`ARBOR_KERNEL_PATH`) before any
    /// command starts, so a bad value stops `arbor` with a message instead of a worker mid-job,
    /// then runs the command.
    static func main() async {
        let name = ProcessInfo.processInfo.environment["ARBOR_KERNEL_PATH"]
        if case .failure(let problem) = KernelPath.selected(byName: name) {
            exit(withError: problem)
        }
        await main(nil)
    }
}
