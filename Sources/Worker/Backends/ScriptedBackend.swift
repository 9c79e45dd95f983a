import ArborProtocol
import Foundation

/// The load-testing backend: deterministic synthetic trees with tool calls and a configurable
/// latency, no model involved.
///
/// It grows trees with the same PORTool schedule as the engine-backed driver, so the coordinator,
/// transport and learning signal see realistic shapes, while costing no CPU. The same request
/// (task id + seed) always yields the same tree. `workers.scripted_faults` makes some attempts
/// fail on purpose (`ScriptedFault`). Thread-safe.
public struct ScriptedBackend: PolicyBackend {
    public let name = "scripted"
    /// Vocabulary size the synthetic token ids are drawn from (SmolLM2's).
    let vocabularySize: UInt64 = 49_152
    /// Overrides the request's `scripted_step_latency_ms` when set (for benchmarks).
    let stepLatencyOverride: Double?

    public init(stepLatencyMilliseconds: Double? = nil) {
        stepLatencyOverride = stepLatencyMilliseconds
    }

    public func loadPolicy(weightsPath: String) throws {}

    public func rollout(_ request: RolloutRequest, cancellation: CancellationFlag) throws -> RolloutResult {
        let started = Date()
        let spec = request.spec
        let fault = ScriptedFault.roll(for: request)
        switch fault {
        case .backendError:
            throw WorkerError(.backend, "scripted fault: the backend failed on request \(request.requestID)")
        case .hang:
            try ScriptedFault.hang(until: cancellation)
        default:
            break
        }
        let schedule = PORToolSchedule(
            trajectories: Int(spec.trajectories), branching: Int(spec.branching),
            maxToolSteps: Int(spec.maxToolSteps))
        var rng = SplitMix64(seed: spec.seed ^ SplitMix64.stableHash(request.task.taskID))
        let latency = (stepLatencyOverride ?? Double(spec.scriptedStepLatencyMs)) / 1000
        // Tasks differ in difficulty so that rewards and advantages vary across the batch.
        let skill = 0.2 + 0.6 * rng.nextUnit()

        var tree = WireTree()
        tree.policyVersions = [request.policyVersion]
        var root = WireTreeNode()
        root.id = 0
        root.parent = -1
        root.tokenIds = promptTokens(request.task.prompt)
        tree.nodes.append(root)

        var stats = RolloutStats()
        stats.promptTokens = UInt64(root.tokenIds.count)
        var live: [UInt32] = []
        var finished = 0
        var parents: [UInt32] = Array(repeating: 0, count: schedule.trajectories)
        var depth = 1
        while !parents.isEmpty {
            try cancellation.check()
            if latency > 0 { Thread.sleep(forTimeInterval: latency) }
            let candidates = parents.map { parent in
                syntheticStep(parent: parent, depth: depth, schedule: schedule, task: request.task, skill: skill, rng: &rng)
            }
            let kept = depth == 1 ? Array(candidates.indices) : schedule.keep(candidateCount: candidates.count, finished: finished, using: &rng)
            live.removeAll()
            for index in kept {
                var node = candidates[index]
                node.id = UInt32(tree.nodes.count)
                node.policyVersion = request.policyVersion
                stats.generatedTokens += UInt64(node.tokenIds.count)
                stats.toolCalls += UInt32(node.toolCalls.count)
                stats.toolErrors += UInt32(node.toolCalls.filter { !$0.ok }.count)
                if node.isLeaf { finished += 1 } else { live.append(node.id) }
                tree.nodes.append(node)
            }
            depth += 1
            parents = live.flatMap { Array(repeating: $0, count: schedule.candidatesPerTrajectory) }
        }
        stats.wallSeconds = Date().timeIntervalSince(started)
        stats.decodeSeconds = stats.wallSeconds

        var result = RolloutResult()
        result.requestID = request.requestID
        result.taskID = request.task.taskID
        result.tree = tree.pruningDeadEnds()
        result.stats = stats
        if fault == .malformedTree { ScriptedFault.malform(&result.tree) }
        if fault == .toolInfraError {
            ScriptedFault.failToolInfrastructure(&result.tree, toolName: request.task.tools.first ?? "calculator")
        }
        return result
    }

    /// One synthetic step: a tool call while tools are allowed and the dice say so, else an answer.
    private func syntheticStep(
        parent: UInt32, depth: Int, schedule: PORToolSchedule, task: TaskMessage, skill: Double,
        rng: inout SplitMix64
    ) -> WireTreeNode {
        var node = WireTreeNode()
        node.parent = Int32(parent)
        let length = 8 + Int(rng.next() % 24)
        for _ in 0..<length {
            node.tokenIds.append(UInt32(rng.next() % vocabularySize))
            node.logprobs.append(Float(-3 * rng.nextUnit()))
            node.entropies.append(Float(0.2 + 2 * rng.nextUnit()))
        }
        let toolName = task.tools.first ?? "calculator"
        let callsTool = schedule.toolsAllowed(atDepth: depth) && rng.nextUnit() < 0.6
        let wellFormed = rng.nextUnit() < 0.9
        node.formatChecks = [check("tags_well_formed", wellFormed), check("json_parses", wellFormed)]
        if callsTool {
            var call = WireToolCall()
            call.name = toolName
            call.argumentsJson = #"{"expression": "6*7"}"#
            call.ok = wellFormed
            call.output = wellFormed ? "42" : ""
            call.error = wellFormed ? "" : "malformed tool call"
            node.toolCalls = [call]
            node.formatChecks.append(check("tool_ran", wellFormed))
            node.text = "<tool_call>{\"name\": \"\(toolName)\", \"arguments\": {\"expression\": \"6*7\"}}</tool_call>"
            node.contextIds = (0..<6).map { _ in UInt32(rng.next() % vocabularySize) }
        } else {
            let roll = rng.nextUnit()
            node.isLeaf = true
            node.outcome = roll < skill ? 1 : (roll < skill + 0.1 ? 0 : -1)
            node.answer = node.outcome == 1 ? task.answer : (node.outcome == 0 ? "" : "unknown")
            node.text = node.outcome == 0 ? "I cannot tell." : "<answer>\(node.answer)</answer>"
        }
        node.format = Float(node.formatChecks.filter(\.passed).count) / Float(node.formatChecks.count)
        return node
    }

    private func check(_ name: String, _ passed: Bool) -> WireFormatCheck {
        var check = WireFormatCheck()
        check.name = name
        check.passed = passed
        return check
    }

    /// Stand-in prompt ids: one id per UTF-8 byte of the prompt, at most 64.
    /// The prompt's "tokens": its first 64 UTF-8 bytes, one id per byte.
    private func promptTokens(_ prompt: String) -> [UInt32] {
        Array(prompt.utf8.prefix(64)).map { UInt32($0) }
    }

    /// The text of ids this backend made from bytes (its prompts); nil for its steps' ids, which
    /// are random draws from the vocabulary and stand for no text (steps carry `text` instead).
    public static func byteText(_ ids: [Int]) -> String? {
        guard ids.allSatisfy({ (0..<256).contains($0) }) else { return nil }
        return String(decoding: ids.map { UInt8($0) }, as: UTF8.self)
    }
}
