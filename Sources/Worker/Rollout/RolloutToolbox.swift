import ArborProtocol
import Foundation
import Synchronization

/// The job's tools on this worker: the registry built from `tools:`, the subset each task offers,
/// one executor per subset, and the verifier (whose `python_tests` use the sandboxed python tool).
///
/// Built once per job settings, off the transport thread (it starts the python warm pool).
/// Thread-safe.
final class RolloutToolbox: Sendable {
    /// Every tool the job enables and this worker could set up, in prompt order.
    let registry: ToolRegistry
    /// Scores final steps.
    let verifier: Verifier
    /// Latency and error counters shared by all executors.
    let stats = ToolStats()
    /// Tools the job enables that this worker could not set up, with why (for logs).
    let unavailable: [String]
    private let executors = Mutex<[String: ToolExecutor]>([:])

    /// The tools of `settings`, built by the tools layer (`ToolRegistry.build`): python,
    /// calculator, search over the job's corpus and every MCP server's tools. A job whose tools
    /// cannot be set up (a missing corpus, an MCP server that does not start) gets no tools, and
    /// the reason is kept in `unavailable` for the worker's log.
    ///
    /// Blocks while the tools start; call it off the transport thread and off the cooperative
    /// pool (backends run on their own threads).
    init(settings: ToolSettings) {
        let done = DispatchSemaphore(value: 0)
        let outcome = Mutex<Result<ToolRegistry, any Error>?>(nil)
        Task.detached {
            let built: Result<ToolRegistry, any Error>
            do {
                built = .success(try await ToolRegistry.build(settings: settings))
            } catch {
                built = .failure(error)
            }
            outcome.withLock { $0 = built }
            done.signal()
        }
        done.wait()
        switch outcome.withLock({ $0 }) {
        case .success(let built):
            registry = built
            unavailable = []
        case .failure(let error):
            registry = ToolRegistry([])
            unavailable = ["tools (\(error))"]
        case nil:
            registry = ToolRegistry([])
            unavailable = ["tools (not built)"]
        }
        verifier = Verifier(python: registry.tool(named: "python") as? PythonTool)
    }

    /// The tools `task` offers: its `tools` list, in that order, of those this worker has; all of
    /// the registry when the list is empty.
    func offered(for task: TaskMessage) -> ToolRegistry {
        guard !task.tools.isEmpty else { return registry }
        return ToolRegistry(task.tools.compactMap { registry.tool(named: $0) })
    }

    /// The executor serving exactly `offered`'s tools (calls of other tools are unknown-tool
    /// errors, as the model was not shown them). One executor per subset, so each subset's
    /// concurrency limits hold across all requests.
    func executor(for offered: ToolRegistry) -> ToolExecutor {
        let key = offered.names.joined(separator: "\u{1F}")
        return executors.withLock { cache in
            if let existing = cache[key] { return existing }
            let executor = ToolExecutor(registry: offered, stats: stats)
            cache[key] = executor
            return executor
        }
    }
}
