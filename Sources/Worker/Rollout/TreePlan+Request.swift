import ArborProtocol
import Kernels

extension TreePlan {
    /// The plan for `request`, shared by every backend that grows trees: the prompt (the
    /// request's system prompt, else the job's; the task's offered tools in the system turn; the
    /// user turn; the assistant header) encoded with `text`'s chat template, the request's
    /// sampling and tree shape, and the tools and verifier of `toolbox`.
    init(
        request: RolloutRequest, text: ModelText, toolbox: RolloutToolbox, systemPrompt: String?,
        prefixSharing: Bool, suspendAfterFailures: Int
    ) {
        let spec = request.spec
        let offered = toolbox.offered(for: request.task)
        var messages: [ChatMessage] = []
        if let system = spec.systemPrompt.isEmpty ? systemPrompt : spec.systemPrompt {
            messages.append(ChatMessage(.system, system))
        }
        messages.append(ChatMessage(.user, request.task.prompt))
        self.init(
            request: request,
            promptIDs: text.template.encodePrompt(messages, tools: offered.promptBlock()).map { Int($0) },
            sampling: SamplingParameters(
                temperature: max(0, spec.temperature), topP: spec.topP > 0 && spec.topP < 1 ? spec.topP : 1,
                topK: Int(spec.topK)),
            schedule: PORToolSchedule(
                trajectories: Int(spec.trajectories), branching: Int(spec.branching),
                maxToolSteps: Int(spec.maxToolSteps)),
            maxStepTokens: spec.maxStepTokens > 0 ? Int(spec.maxStepTokens) : 256,
            prefixSharing: prefixSharing, tools: toolbox.executor(for: offered),
            suspendAfterFailures: suspendAfterFailures, verifier: toolbox.verifier, reply: RolloutReply())
    }
}
