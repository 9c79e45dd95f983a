import ArborProtocol
import Foundation
import Kernels
import Synchronization

/// The loop thread: every in-flight tree of a backend, grown by one `StepGenerator`.
///
/// Requests arrive on their own backend threads; they `submit` a `TreePlan` and block on its
/// `RolloutReply`. Tool calls, python-test verification and (remote) completion requests run as
/// tasks off this thread and post their results back as events, so other branches keep
/// generating meanwhile. The generator is created on the thread and never leaves it (the
/// builtin engine is not thread-safe). The handle is thread-safe.
final class RolloutLoop<Generator: StepGenerator>: Sendable {
    /// Events for the loop thread; `closed` once the thread has exited (after `shutdown`).
    private let inbox = Mutex<(events: [(key: Int, event: RolloutEvent)], closed: Bool)>(([], false))
    private let stopping = Atomic<Bool>(false)
    private let nextKey = Atomic<Int>(0)
    private let wake = DispatchSemaphore(value: 0)
    private let counters = Mutex(EngineUtilization())
    /// Start of the in-flight period now open (a tree is in flight), for `utilization` readers.
    private let openSince = Mutex<ContinuousClock.Instant?>(nil)

    /// Starts the loop thread named `name`; `makeGenerator` runs on it, with the function that
    /// posts events back to the loop (for generators that finish steps off the thread).
    init(name: String, makeGenerator: @escaping @Sendable (_ post: @escaping @Sendable (Int, RolloutEvent) -> Void) -> Generator) {
        let thread = Thread { [self] in
            run(makeGenerator { [weak self] key, event in self?.post(key, event) })
        }
        thread.name = name
        // The forward pass and sampler recurse little, but 512 KiB secondary-thread stacks are tight.
        thread.stackSize = 16 << 20
        thread.start()
    }

    /// Hands a tree to the loop thread; returns its key (for `cancel`). Thread-safe.
    func submit(_ plan: TreePlan) -> Int {
        let key = nextKey.add(1, ordering: .relaxed).newValue
        post(key, .start(plan))
        return key
    }

    /// Drops tree `key`: its branches are freed and its reply gets `.cancelled`. Thread-safe.
    func cancel(_ key: Int) { post(key, .cancel) }

    /// Grows `plan`'s tree and blocks the calling (backend) thread until it is done; drops the
    /// tree once `cancellation` fires. Throws `WorkerError.cancelled`, or the tree's error.
    func grow(_ plan: TreePlan, cancellation: CancellationFlag) throws -> RolloutResult {
        let key = submit(plan)
        return try plan.reply.wait {
            if cancellation.isCancelled {
                cancel(key)
                throw WorkerError(.cancelled, "request \(plan.request.requestID) cancelled")
            }
        }
    }

    /// Lets the thread exit once no tree is in flight. Thread-safe.
    func shutdown() {
        stopping.store(true, ordering: .relaxed)
        wake.signal()
    }

    /// The counters so far, the in-flight period now open included (a reader that wakes on the
    /// last tree's reply may run before the loop closes that period). Thread-safe.
    var utilization: EngineUtilization {
        counters.withLock { counted in
            var usage = counted
            if let since = openSince.withLock({ $0 }) { usage.activeSeconds += Self.seconds(since.duration(to: .now)) }
            return usage
        }
    }

    private func post(_ key: Int, _ event: RolloutEvent) {
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

    // MARK: - The loop thread

    private func run(_ generator: Generator) {
        var trees: [Int: TreeRollout<Generator.Store>] = [:]
        var activeSince: ContinuousClock.Instant?
        func noteActivity() {
            if trees.isEmpty, let since = activeSince {
                // One step under both locks' order (counters, then openSince): a reader never
                // sees the period both closed and still open.
                counters.withLock { usage in
                    usage.activeSeconds += Self.seconds(since.duration(to: .now))
                    openSince.withLock { $0 = nil }
                }
                activeSince = nil
            } else if !trees.isEmpty, activeSince == nil {
                activeSince = .now
                openSince.withLock { $0 = activeSince }
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
                openSince.withLock { $0 = activeSince }
            }
            for (key, event) in events { handle(event, key: key, trees: &trees, generator) }
            noteActivity()
            if trees.isEmpty && stopping.load(ordering: .relaxed) {
                let exits = inbox.withLock { inbox -> Bool in
                    inbox.closed = inbox.events.isEmpty
                    return inbox.closed
                }
                if exits { break }
            }
            if let touched = generator.generate(trees, counters: counters) {
                for tree in touched { advance(tree, trees: &trees, generator) }
            } else {
                wake.wait()
            }
            noteActivity()
        }
    }

    private func handle(
        _ event: RolloutEvent, key: Int, trees: inout [Int: TreeRollout<Generator.Store>], _ generator: Generator
    ) {
        switch event {
        case .start(let plan):
            let tree = TreeRollout(key: key, plan: plan, store: generator.store(for: plan), text: generator.text)
            trees[key] = tree
            timed(tree) { try tree.start() }
        case .toolsDone(let node, let outcome, let tracker):
            guard let tree = trees[key] else { return }
            timed(tree) { try tree.toolsFinished(node: node, outcome: outcome, tracker: tracker) }
        case .verdict(let node, let verdict):
            trees[key]?.verdict(node: node, verdict)
        case .generated(let parent, let index, let seconds, let outcome):
            guard let tree = trees[key],
                let slot = tree.candidates.firstIndex(where: { $0.parent == parent && $0.index == index })
            else { return }
            tree.addEngineTime(seconds)
            switch outcome {
            case .success(let step):
                tree.countGeneratedTokens(step.tokens.count)
                tree.candidates[slot].finish(step)
                counters.withLock { $0.generatedTokens += step.tokens.count }
            case .failure(let error):
                if tree.failure == nil { tree.failure = error }
            }
        case .cancel:
            guard let tree = trees.removeValue(forKey: key) else { return }
            generator.forget(key)
            tree.releaseAll()
            tree.plan.reply.deliver(.failure(WorkerError(.cancelled, "request \(tree.plan.request.requestID) cancelled")))
            return
        }
        if let tree = trees[key] { advance(tree, trees: &trees, generator) }
    }

    /// Runs `work` on behalf of `tree`, charging its time; a failure fails the tree.
    private func timed(_ tree: TreeRollout<Generator.Store>, _ work: () throws -> Void) {
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
    private func advance(
        _ tree: TreeRollout<Generator.Store>, trees: inout [Int: TreeRollout<Generator.Store>], _ generator: Generator
    ) {
        if tree.failure == nil, tree.roundIsComplete {
            for effect in tree.closeRound() { launch(effect, for: tree) }
        }
        if let failure = tree.failure {
            tree.releaseAll()
            trees.removeValue(forKey: tree.key)
            generator.forget(tree.key)
            tree.plan.reply.deliver(.failure(failure))
        } else if tree.isComplete {
            trees.removeValue(forKey: tree.key)
            generator.forget(tree.key)
            tree.plan.reply.deliver(.success(tree.result()))
        }
    }

    /// Starts tool execution or verification off the loop thread; the result comes back as an event.
    private func launch(_ effect: TreeEffect, for tree: TreeRollout<Generator.Store>) {
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

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
    }
}

/// Something for the loop thread to do, for tree `key`.
enum RolloutEvent: Sendable {
    case start(TreePlan)
    case toolsDone(node: Int, outcome: StepToolOutcome, tracker: ToolFailureTracker)
    case verdict(node: Int, Verifier.Verdict)
    /// A candidate step generated off the thread (remote), with the seconds it took.
    case generated(parent: Int, index: Int, seconds: Double, Result<CompletedStep, WorkerError>)
    case cancel
}
