import ArborProtocol
import Foundation
import Kernels
import Synchronization

/// How busy the engine thread has been, for `arbor bench rollout` and worker status.
public struct EngineUtilization: Sendable, Equatable {
    /// Seconds spent in engine calls: batched decode steps, prefills, forks, appends.
    public var busySeconds: Double = 0
    /// Wall-clock seconds during which at least one tree was in flight.
    public var activeSeconds: Double = 0
    /// Batched decode steps run.
    public var steps: Int = 0
    /// Rows (branches) decoded over all steps; `stepRows / steps` is the mean batch size.
    public var stepRows: Int = 0
    /// Tokens sampled (kept or not).
    public var generatedTokens: Int = 0

    /// Share of in-flight time the engine spent computing, in [0, 1]: the rest is waiting for
    /// tools and scheduling.
    public var busyShare: Double { activeSeconds > 0 ? min(1, busySeconds / activeSeconds) : 0 }
}

/// The engine thread: one `InferenceEngine`, every in-flight tree of the worker, one batched
/// decode step over all their live branches at a time.
///
/// Requests arrive on their own backend threads; they `submit` a `TreePlan` and block on its
/// `RolloutReply`. Tool calls and python-test verification run as tasks off this thread and post
/// their results back, so other branches keep decoding meanwhile. The engine is created on the
/// thread and never leaves it (it is not thread-safe). The handle is thread-safe.
final class EngineLoop: Sendable {
    /// Something for the engine thread to do.
    enum Event: Sendable {
        case start(TreePlan)
        case toolsDone(node: Int, outcome: StepToolOutcome, tracker: ToolFailureTracker)
        case verdict(node: Int, Verifier.Verdict)
        case cancel
    }

    /// Events for the engine thread; `closed` once the thread has exited (after `shutdown`).
    private let inbox = Mutex<(events: [(key: Int, event: Event)], closed: Bool)>(([], false))
    private let stopping = Atomic<Bool>(false)
    private let nextKey = Atomic<Int>(0)
    private let wake = DispatchSemaphore(value: 0)
    private let counters = Mutex(EngineUtilization())

    /// Starts the engine thread over `model` (the engine is built there with `options`).
    init(model: LlamaModel, tokenizer: Tokenizer, template: ChatTemplate, options: EngineOptions) {
        let thread = Thread { [self] in
            let engine = InferenceEngine(model: model, options: options)
            var stopIDs: Set<Int> = [Int(template.turnEndID)]
            if let eos = tokenizer.eosID { stopIDs.insert(Int(eos)) }
            run(DecodeContext(engine: engine, tokenizer: tokenizer, template: template, stopIDs: stopIDs))
        }
        thread.name = "arbor-engine"
        // The forward pass and sampler recurse little, but 512 KiB secondary-thread stacks are tight.
        thread.stackSize = 16 << 20
        thread.start()
    }

    /// Hands a tree to the engine thread; returns its key (for `cancel`). Thread-safe.
    func submit(_ plan: TreePlan) -> Int {
        let key = nextKey.add(1, ordering: .relaxed).newValue
        post(key, .start(plan))
        return key
    }

    /// Drops tree `key`: its sequences are freed and its reply gets `.cancelled`. Thread-safe.
    func cancel(_ key: Int) { post(key, .cancel) }

    /// Lets the thread exit once no tree is in flight. Thread-safe.
    func shutdown() {
        stopping.store(true, ordering: .relaxed)
        wake.signal()
    }

    /// The counters so far. Thread-safe.
    var utilization: EngineUtilization { counters.withLock { $0 } }

    private func post(_ key: Int, _ event: Event) {
        let accepted = inbox.withLock { inbox -> Bool in
            guard !inbox.closed else { return false }
            inbox.events.append((key, event))
            return true
        }
        if accepted {
            wake.signal()
        } else if case .start(let plan) = event {
            // Lost a race with a model switch: the caller retries on the new engine.
            plan.reply.deliver(.failure(WorkerError(.backend, "the engine was replaced while the request was starting")))
        }
    }

    // MARK: - The engine thread

    private func run(_ context: DecodeContext) {
        var trees: [Int: TreeRollout] = [:]
        var activeSince: ContinuousClock.Instant?
        func noteActivity() {
            if trees.isEmpty, let since = activeSince {
                let seconds = Self.seconds(since.duration(to: .now))
                counters.withLock { $0.activeSeconds += seconds }
                activeSince = nil
            } else if !trees.isEmpty, activeSince == nil {
                activeSince = .now
            }
        }
        while true {
            let events = inbox.withLock { inbox in
                defer { inbox.events.removeAll(keepingCapacity: true) }
                return inbox.events
            }
            // In flight from the moment a tree arrives (its prompt prefill is engine work).
            if activeSince == nil, events.contains(where: { if case .start = $0.event { true } else { false } }) {
                activeSince = .now
            }
            for (key, event) in events { handle(event, key: key, trees: &trees, context) }
            noteActivity()
            if trees.isEmpty && stopping.load(ordering: .relaxed) {
                let exits = inbox.withLock { inbox -> Bool in
                    inbox.closed = inbox.events.isEmpty
                    return inbox.closed
                }
                if exits { break }
            }
            if !decodeStep(trees: &trees, context) {
                wake.wait()
            }
            noteActivity()
        }
    }

    private func handle(_ event: Event, key: Int, trees: inout [Int: TreeRollout], _ context: DecodeContext) {
        switch event {
        case .start(let plan):
            let tree = TreeRollout(key: key, plan: plan)
            trees[key] = tree
            timed(tree) { try tree.start(context) }
        case .toolsDone(let node, let outcome, let tracker):
            guard let tree = trees[key] else { return }
            timed(tree) { try tree.toolsFinished(node: node, outcome: outcome, tracker: tracker, context) }
        case .verdict(let node, let verdict):
            trees[key]?.verdict(node: node, verdict)
        case .cancel:
            guard let tree = trees.removeValue(forKey: key) else { return }
            tree.releaseAll(context)
            tree.plan.reply.deliver(.failure(WorkerError(.cancelled, "request \(tree.plan.request.requestID) cancelled")))
            return
        }
        if let tree = trees[key] { advance(tree, trees: &trees, context) }
    }

    /// Runs `work` on behalf of `tree`, charging its time; a failure fails the tree.
    private func timed(_ tree: TreeRollout, _ work: () throws -> Void) {
        let started = ContinuousClock.now
        do {
            try work()
        } catch {
            tree.failure = error as? WorkerError ?? WorkerError(.backend, "rollout failed", cause: error)
        }
        let seconds = Self.seconds(started.duration(to: .now))
        tree.addEngineTime(seconds)
        counters.withLock { $0.busySeconds += seconds }
    }

    /// Closes a finished round (starting its tools and verifications) and delivers a finished or
    /// failed tree.
    private func advance(_ tree: TreeRollout, trees: inout [Int: TreeRollout], _ context: DecodeContext) {
        if tree.failure == nil, tree.roundIsComplete {
            for effect in tree.closeRound(context) { launch(effect, for: tree) }
        }
        if let failure = tree.failure {
            tree.releaseAll(context)
            trees.removeValue(forKey: tree.key)
            tree.plan.reply.deliver(.failure(failure))
        } else if tree.isComplete {
            trees.removeValue(forKey: tree.key)
            tree.plan.reply.deliver(.success(tree.result()))
        }
    }

    /// Starts tool execution or verification off the engine thread; the result comes back as an event.
    private func launch(_ effect: TreeEffect, for tree: TreeRollout) {
        let key = tree.key
        switch effect {
        case .runTools(let node, let text, let tracker):
            let executor = tree.plan.tools
            Task.detached { [self] in
                var updated = tracker
                let outcome = await executor.executeStep(text, tracker: &updated)
                post(key, .toolsDone(node: node, outcome: outcome, tracker: updated))
            }
        case .verify(let node, let text):
            let verifier = tree.plan.verifier
            let task = tree.plan.request.task
            Task.detached { [self] in
                post(key, .verdict(node: node, await verifier.verdict(stepText: text, task: task)))
            }
        }
    }

    /// One batched decode step over every live branch of every tree (one engine call per distinct
    /// sampling setting; a job normally has one). Returns false when there was nothing to decode.
    private func decodeStep(trees: inout [Int: TreeRollout], _ context: DecodeContext) -> Bool {
        var groups: [(sampling: SamplingParameters, rows: [(tree: TreeRollout, candidate: Int)])] = []
        for key in trees.keys.sorted() {
            let tree = trees[key]!
            for (index, candidate) in tree.candidates.enumerated() where !candidate.isDone && candidate.sequence != nil {
                if let g = groups.firstIndex(where: { $0.sampling == tree.plan.sampling }) {
                    groups[g].rows.append((tree, index))
                } else {
                    groups.append((tree.plan.sampling, [(tree, index)]))
                }
            }
        }
        guard !groups.isEmpty else { return false }
        let engine = context.engine
        for group in groups {
            // Pending sequences first: the sampler then draws in batch order (see BranchRandom).
            let rows = group.rows.filter { isPending($0, engine) } + group.rows.filter { !isPending($0, engine) }
            let sequences = rows.map { $0.tree.candidates[$0.candidate].sequence! }
            var random = BranchRandom(streams: rows.map { $0.tree.candidates[$0.candidate].random })
            let started = ContinuousClock.now
            let sampled: [SampledToken]
            do {
                sampled = try engine.step(sequences, sampling: group.sampling, using: &random)
            } catch {
                let failure = error as? WorkerError ?? WorkerError(.backend, "decode step failed", cause: error)
                for row in rows where row.tree.failure == nil { row.tree.failure = failure }
                continue
            }
            let seconds = Self.seconds(started.duration(to: .now))
            counters.withLock {
                $0.busySeconds += seconds
                $0.steps += 1
                $0.stepRows += rows.count
                $0.generatedTokens += rows.count
            }
            var charged = Set<Int>()
            for (k, row) in rows.enumerated() {
                let tree = row.tree
                if charged.insert(tree.key).inserted { tree.addEngineTime(seconds) }
                tree.countGeneratedToken()
                let token = sampled[k]
                let bytes = (try? context.tokenizer.decodeBytes([Int32(token.id)], special: false)) ?? []
                let length = engine.sequences[sequences[k].rawValue]?.tokens.count ?? 0
                tree.candidates[row.candidate].random = random.streams[k]
                tree.candidates[row.candidate].absorb(
                    token, bytes: bytes, isEndOfTurn: context.stopIDs.contains(token.id),
                    maxTokens: tree.plan.maxStepTokens, atContextLimit: length >= engine.maxContext - 1)
            }
        }
        var touched = Set<Int>()
        for group in groups {
            for row in group.rows where touched.insert(row.tree.key).inserted {
                advance(row.tree, trees: &trees, context)
            }
        }
        return true
    }

    private func isPending(_ row: (tree: TreeRollout, candidate: Int), _ engine: InferenceEngine) -> Bool {
        guard let sequence = row.tree.candidates[row.candidate].sequence else { return false }
        return engine.sequences[sequence.rawValue]?.pending != nil
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
    }
}
