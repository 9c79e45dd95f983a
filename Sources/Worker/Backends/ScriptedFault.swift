import ArborProtocol
import Foundation

/// The fault the scripted backend injects into one attempt of one request, if any
/// (`workers.scripted_faults`).
///
/// Each fault has its own die, rolled in a fixed order from a generator seeded by the request's
/// seed, task and attempt: a job replays the same faults, and a retried request rolls again.
/// The first die that comes up picks the fault, so each rate holds up to the overlap of the
/// others (a few per cent at 5% each). Thread-safe (a value type).
enum ScriptedFault: Equatable {
    case malformedTree
    case toolInfraError
    case backendError
    case hang

    /// The fault for `request`, or nil for a clean rollout.
    static func roll(for request: RolloutRequest) -> ScriptedFault? {
        guard request.spec.hasScriptedFaults else { return nil }
        let rates = request.spec.scriptedFaults
        // A stream of its own (salted), so enabling faults leaves the trees of clean rollouts
        // exactly as they were.
        var dice = SplitMix64(
            seed: request.spec.seed ^ SplitMix64.stableHash(request.task.taskID)
                ^ (UInt64(request.attempt) &* 0x9E37_79B9_7F4A_7C15) ^ 0xFA17_FA17_FA17_FA17)
        let draws = (0..<4).map { _ in dice.nextUnit() }
        if draws[0] < rates.malformedTree { return .malformedTree }
        if draws[1] < rates.toolInfraError { return .toolInfraError }
        if draws[2] < rates.backendError { return .backendError }
        if draws[3] < rates.hang { return .hang }
        return nil
    }

    /// Breaks the tree contract: the last node's parent is an id no node has.
    static func malform(_ tree: inout WireTree) {
        guard let last = tree.nodes.indices.last else { return }
        tree.nodes[last].parent = Int32(tree.nodes.count + 1000)
    }

    /// Turns the first tool call of the tree into an infrastructure failure (a sandbox that could
    /// not start); a tree without tool calls gets one on its first step.
    static func failToolInfrastructure(_ tree: inout WireTree, toolName: String) {
        let message = "scripted fault: the sandbox of '\(toolName)' could not start"
        if let node = tree.nodes.firstIndex(where: { !$0.toolCalls.isEmpty }) {
            tree.nodes[node].toolCalls[0].ok = false
            tree.nodes[node].toolCalls[0].output = ""
            tree.nodes[node].toolCalls[0].error = message
            tree.nodes[node].toolCalls[0].infraError = true
        } else if let step = tree.nodes.firstIndex(where: { $0.parent >= 0 }) {
            var call = WireToolCall()
            call.name = toolName
            call.error = message
            call.infraError = true
            tree.nodes[step].toolCalls.append(call)
        }
    }

    /// Blocks until `cancellation` is raised, then throws `WorkerError.cancelled`.
    static func hang(until cancellation: CancellationFlag) throws {
        while true {
            try cancellation.check()
            Thread.sleep(forTimeInterval: 0.02)
        }
    }
}
