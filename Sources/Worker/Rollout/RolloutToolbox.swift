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

    /// The tools of `settings`.
    ///
    /// TODO: the calculator, search and MCP tools are built by the tools layer
    /// (`ToolRegistry.build(settings:)`), which is not in this build yet; until then only
    /// `python` is offered and the others are listed in `unavailable`.
    init(settings: ToolSettings) {
        var tools: [any Tool] = []
        var unavailable: [String] = []
        var python: PythonTool?
        do {
            python = try PythonTool(settings: settings.python)
        } catch {
            unavailable.append("python (\(error))")
        }
        let wanted = settings.enabled.isEmpty ? ["python", "calculator", "search"] : settings.enabled
        for name in wanted {
            switch name {
            case "python": if let python { tools.append(python) }
            case "search" where settings.search.corpus == nil && settings.enabled.isEmpty: continue
            default: unavailable.append("\(name) (not built into this worker yet)")
            }
        }
        registry = ToolRegistry(tools)
        verifier = Verifier(python: python)
        self.unavailable = unavailable
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
