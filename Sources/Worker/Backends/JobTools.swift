import ArborProtocol
import Synchronization

/// What every tree-growing backend takes from the job as run in the same way: the tools (built
/// into a toolbox at the first request, rebuilt when the job's tool settings change) and the
/// system prompt. Thread-safe.
final class JobTools: Sendable {
    private struct State: Sendable {
        var tools = ToolSettings()
        var systemPrompt: String?
        var toolbox: RolloutToolbox?
    }

    private let state = Mutex(State())

    init() {}

    /// Parses the job as run (`RegisterAck.job_yaml`) and takes its tools and system prompt; the
    /// backend reads its own keys from the returned job. Cheap: the toolbox is built later.
    /// Throws `WorkerError(.configuration)` for a job that does not parse.
    func configure(jobYAML: String) throws -> JobConfig {
        let config: JobConfig
        do {
            config = try JobConfig(yaml: jobYAML, file: "job as run", requirement: .signalOnly)
        } catch {
            throw WorkerError(.configuration, "the coordinator's job does not parse", cause: error)
        }
        state.withLock { state in
            if state.tools != config.tools { state.toolbox = nil }
            state.tools = config.tools
            state.systemPrompt = config.systemPrompt
        }
        return config
    }

    /// The plan for `request`: its prompt encoded with `text`, the job's toolbox and system
    /// prompt, and PruneTIR's threshold.
    func plan(for request: RolloutRequest, text: ModelText, prefixSharing: Bool) -> TreePlan {
        let (toolbox, systemPrompt, suspendAfter) = state.withLock { state in
            let toolbox = state.toolbox ?? RolloutToolbox(settings: state.tools)
            state.toolbox = toolbox
            return (toolbox, state.systemPrompt, state.tools.suspendAfterFailures)
        }
        return TreePlan(
            request: request, text: text, toolbox: toolbox, systemPrompt: systemPrompt,
            prefixSharing: prefixSharing, suspendAfterFailures: suspendAfter)
    }

    /// Tools this worker could not set up for the job (empty before the first request).
    var unavailable: [String] { state.withLock { $0.toolbox?.unavailable ?? [] } }
}
