import ArborProtocol
import Foundation
import Kernels

/// Work a tree asks the engine loop to start off the engine thread.
enum TreeEffect {
    /// Execute the tool calls of kept step `node`.
    case runTools(node: Int, text: String, tracker: ToolFailureTracker)
    /// Score final step `node`.
    case verify(node: Int, text: String)
}

/// One PORTool tree being grown (docs/learning-signal.md, "Tree rollout"), whatever generates its steps: the
/// builtin engine (`EngineBranches`) or a remote server (`TokenBranches`). Loop thread only.
///
/// Rounds: round 1 decodes `n` first steps from the prompt. A kept step that calls tools (at
/// depth ≤ T_max) waits for its tool responses, appends them, and proposes `f` candidates for the
/// next round as soon as its own tools are back — its candidates decode while other trajectories'
/// tools still run. When every candidate of the round has ended and no trajectory awaits tools,
/// `n − n_c` candidates are kept uniformly at random (`PORToolSchedule.keep`) and become nodes;
/// the rest are dropped (their parents may become dead ends, pruned at the end). A kept step
/// without tool calls is a leaf, scored by the verifier; a step after the T_max-th tool step that
/// still calls tools is a leaf with outcome −1 and its calls are not executed.
///
/// Determinism: candidates are kept in (parent, index) order and each candidate samples from its
/// own generator seeded by (request seed, task id, parent node, index), so the tree does not
/// depend on timing or on which other trees shared the engine's batches (remote candidates send
/// a server seed drawn from that generator, so a server that honours seeds replays them too).
final class TreeRollout<Store: BranchStore> {
    let key: Int
    let plan: TreePlan
    /// Where the branches live.
    let store: Store
    /// Decoding steps and encoding tool responses.
    let text: ModelText
    private(set) var nodes: [WireTreeNode] = []
    /// Candidates of the current round.
    var candidates: [StepCandidate<Store.Branch>] = []
    /// Kept tool steps waiting for their tool responses, by node index: the trajectory's context,
    /// how the step ended, PruneTIR.
    private var awaitingTools: [Int: (prefix: Store.Prefix, stop: StepStop, tracker: ToolFailureTracker)] = [:]
    private var depth = 1
    private var finished = 0
    private var pendingVerdicts = 0
    private var keepRandom: SplitMix64
    private(set) var stats = RolloutStats()
    /// Set when an engine call for this tree failed; the loop then delivers the error.
    var failure: WorkerError?
    private let started = Date()

    init(key: Int, plan: TreePlan, store: Store, text: ModelText) {
        self.key = key
        self.plan = plan
        self.store = store
        self.text = text
        keepRandom = SplitMix64(seed: plan.baseSeed)
    }

    /// True when every trajectory has ended and been scored.
    var isComplete: Bool { candidates.isEmpty && awaitingTools.isEmpty && pendingVerdicts == 0 }

    /// True when the round's candidates have all ended and no trajectory can add more.
    var roundIsComplete: Bool { !candidates.isEmpty && awaitingTools.isEmpty && candidates.allSatisfy(\.isDone) }

    // MARK: - Steps of the algorithm

    /// Adds the prompt node and the `n` first-step candidates.
    func start() throws {
        var root = WireTreeNode()
        root.id = 0
        root.parent = -1
        root.tokenIds = plan.promptIDs.map { UInt32($0) }
        root.policyVersion = plan.request.policyVersion
        nodes.append(root)
        stats.promptTokens = UInt64(plan.promptIDs.count)
        let tracker = ToolFailureTracker(threshold: plan.suspendAfterFailures)
        try spawn(parent: 0, from: try store.prompt(plan.promptIDs), count: plan.schedule.trajectories, tracker: tracker)
    }

    /// Keeps `n − n_c` of the round's candidates and turns them into nodes; returns the tool
    /// executions and verifications to start.
    func closeRound() -> [TreeEffect] {
        candidates.sort { ($0.parent, $0.index) < ($1.parent, $1.index) }
        let kept = depth == 1
            ? Array(candidates.indices)
            : plan.schedule.keep(candidateCount: candidates.count, finished: finished, using: &keepRandom)
        let keptSet = Set(kept)
        var effects: [TreeEffect] = []
        for (index, candidate) in candidates.enumerated() {
            if keptSet.contains(index) {
                if let effect = keep(candidate) { effects.append(effect) }
            } else {
                store.release(candidate.branch)
            }
        }
        candidates = []
        depth += 1
        return effects
    }

    /// Records the tool responses of `node`, appends them (token in, token out: tokenized once by
    /// the chat template's continuation) and proposes the trajectory's next `f` candidates.
    func toolsFinished(node: Int, outcome: StepToolOutcome, tracker: ToolFailureTracker) throws {
        guard let waiting = awaitingTools.removeValue(forKey: node) else { return }
        record(outcome, on: node)
        let ending: ChatTemplate.StepEnding = waiting.stop == .endOfTurn ? .endOfTurnToken : .stoppedBeforeEndOfTurn
        let contextIDs = text.template
            .encodeToolResponses(outcome.results.map(\.responseText), after: ending).map { Int($0) }
        nodes[node].contextIds = contextIDs.map { UInt32($0) }
        if store.length(of: waiting.prefix) + contextIDs.count + 1 >= store.maxContext {
            // No room left to answer: the trajectory ends here without an answer.
            store.release(waiting.prefix)
            nodes[node].isLeaf = true
            nodes[node].outcome = -1
            finished += 1
            return
        }
        let extended = try store.extend(waiting.prefix, with: contextIDs)
        try spawn(parent: node, from: extended, count: plan.schedule.candidatesPerTrajectory, tracker: tracker)
    }

    /// Records the verifier's score of leaf `node`.
    func verdict(node: Int, _ verdict: Verifier.Verdict) {
        nodes[node].outcome = verdict.outcome
        nodes[node].answer = verdict.answer.text
        pendingVerdicts -= 1
    }

    /// Adds `seconds` of generation work done for this tree (engine time; request time, remote).
    func addEngineTime(_ seconds: Double) { stats.decodeSeconds += seconds }

    /// Counts sampled tokens (kept or not: it is work the generator did).
    func countGeneratedTokens(_ count: Int = 1) { stats.generatedTokens += UInt64(count) }

    /// The finished tree, dead ends pruned.
    func result() -> RolloutResult {
        var tree = WireTree()
        tree.policyVersions = [plan.request.policyVersion]
        tree.nodes = nodes
        var final = stats
        final.wallSeconds = Date().timeIntervalSince(started)
        var result = RolloutResult()
        result.requestID = plan.request.requestID
        result.taskID = plan.request.task.taskID
        result.tree = tree.pruningDeadEnds()
        result.stats = final
        return result
    }

    /// Frees every branch the tree still holds (cancellation, failure).
    func releaseAll() {
        for candidate in candidates { store.release(candidate.branch) }
        for waiting in awaitingTools.values { store.release(waiting.prefix) }
        candidates = []
        awaitingTools = [:]
    }

    // MARK: - Internals

    /// Makes a kept candidate a node: a trajectory waiting for tools, or a leaf.
    private func keep(_ candidate: StepCandidate<Store.Branch>) -> TreeEffect? {
        var node = WireTreeNode()
        node.id = UInt32(nodes.count)
        node.parent = Int32(candidate.parent)
        node.tokenIds = candidate.tokens.map { UInt32($0) }
        node.logprobs = candidate.logprobs
        node.entropies = candidate.entropies
        node.policyVersion = plan.request.policyVersion
        let text = (try? self.text.tokenizer.decode(candidate.tokens.map { Int32($0) }, special: false)) ?? ""
        node.text = text
        let index = nodes.count
        let parsed = ToolCallParser.parse(text)
        let tagsCheck = Self.check("tags", parsed.tagsWellFormed, parsed.tagsWellFormed ? "" : "unbalanced <tool_call> tags")
        var effect: TreeEffect?
        if parsed.isToolStep && plan.schedule.toolsAllowed(atDepth: depth), let stop = candidate.stop {
            awaitingTools[index] = (store.prefix(continuing: candidate.branch, step: candidate.tokens), stop, candidate.tracker)
            effect = .runTools(node: index, text: text, tracker: candidate.tracker)
        } else {
            store.release(candidate.branch)
            node.isLeaf = true
            finished += 1
            if parsed.isToolStep {
                node.outcome = -1
                node.formatChecks = [tagsCheck, Self.check(
                    "answer", false, "tool call after the last tool step (max_tool_steps = \(plan.schedule.maxToolSteps))")]
            } else {
                let tagged = FinalAnswer.hasWellFormedTags(text)
                node.formatChecks = [tagsCheck, Self.check("answer", tagged, tagged ? "" : "no single <answer>…</answer>")]
                pendingVerdicts += 1
                effect = .verify(node: index, text: text)
            }
            node.format = Self.score(node.formatChecks)
        }
        nodes.append(node)
        return effect
    }

    /// Fills a tool step's calls and format checks from the executor's outcome.
    private func record(_ outcome: StepToolOutcome, on node: Int) {
        var calls: [WireToolCall] = []
        for (entry, result) in zip(outcome.parsed.entries, outcome.results) {
            var call = WireToolCall()
            call.name = result.name
            if case .success(let parsed) = entry { call.argumentsJson = JSONValue.object(parsed.arguments).compactText }
            call.ok = result.ok
            call.output = result.output
            call.error = result.error.map { "\($0.code.rawValue): \($0.message)" } ?? ""
            call.latencyMs = result.seconds * 1000
            call.infraError = result.error?.isInfrastructure ?? false
            calls.append(call)
            stats.toolSeconds += result.seconds
        }
        stats.toolCalls += UInt32(calls.count)
        stats.toolErrors += UInt32(calls.filter { !$0.ok }.count)
        nodes[node].toolCalls = calls
        nodes[node].formatChecks = outcome.format.checks.map { check in
            Self.check(check.call.map { "\(check.name)[\($0)]" } ?? check.name, check.passed, check.detail)
        }
        nodes[node].format = Self.score(nodes[node].formatChecks)
    }

    /// `count` candidates that continue `prefix` (consumed).
    private func spawn(parent: Int, from prefix: Store.Prefix, count: Int, tracker: ToolFailureTracker) throws {
        for (index, branch) in try store.branches(from: prefix, count: count).enumerated() {
            candidates.append(candidate(parent: parent, index: index, branch: branch, tracker: tracker))
        }
    }

    private func candidate(
        parent: Int, index: Int, branch: Store.Branch, tracker: ToolFailureTracker
    ) -> StepCandidate<Store.Branch> {
        var mixer = SplitMix64(
            seed: plan.baseSeed ^ (UInt64(parent) &* 0x9E37_79B9_7F4A_7C15) ^ (UInt64(index + 1) &* 0xC2B2_AE3D_27D4_EB4F))
        return StepCandidate(
            parent: parent, index: index, branch: branch, random: SeededRandom(seed: mixer.next()), tracker: tracker)
    }

    private static func check(_ name: String, _ passed: Bool, _ detail: String) -> WireFormatCheck {
        var check = WireFormatCheck()
        check.name = name
        check.passed = passed
        check.detail = detail
        return check
    }

    private static func score(_ checks: [WireFormatCheck]) -> Float {
        checks.isEmpty ? 1 : Float(checks.filter(\.passed).count) / Float(checks.count)
    }
}
