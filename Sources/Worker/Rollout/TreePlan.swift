import ArborProtocol
import Foundation
import Kernels
import Synchronization

/// Everything one tree rollout needs, prepared on the request's thread and handed to the engine
/// thread: the prompt as ids, the tree shape, sampling, tools and verifier. Sendable.
struct TreePlan: Sendable {
    /// The request being served.
    var request: RolloutRequest
    /// The prompt's ids (system turn with the tools block, user turn, assistant header).
    var promptIDs: [Int]
    /// Temperature, top-p, top-k of the request.
    var sampling: SamplingParameters
    /// n, f, T_max.
    var schedule: PORToolSchedule
    /// Token budget of one step.
    var maxStepTokens: Int
    /// Branches fork from their parent's sequence (true) or re-prefill their whole context.
    var prefixSharing: Bool
    /// Runs the tool calls of kept steps.
    var tools: ToolExecutor
    /// PruneTIR threshold (`tools.suspend_after_failures`).
    var suspendAfterFailures: Int
    /// Scores final steps.
    var verifier: Verifier
    /// Where the finished tree goes.
    var reply: RolloutReply

    /// The seed all of the tree's randomness derives from: the request's seed and its task id, so
    /// that the same request replays the same tree and different tasks of one seed differ.
    var baseSeed: UInt64 { request.spec.seed ^ SplitMix64.stableHash(request.task.taskID) }
}

/// The meeting point of a request thread waiting for its tree and the engine thread finishing
/// it. Thread-safe; delivered once (later deliveries are ignored).
final class RolloutReply: Sendable {
    private let slot = Mutex<Result<RolloutResult, WorkerError>?>(nil)
    private let signal = DispatchSemaphore(value: 0)

    /// Hands over the outcome; the first call wins.
    func deliver(_ outcome: Result<RolloutResult, WorkerError>) {
        let first = slot.withLock { value -> Bool in
            guard value == nil else { return false }
            value = outcome
            return true
        }
        if first { signal.signal() }
    }

    /// Blocks until the outcome arrives, calling `poll` about every 50 ms meanwhile (to notice
    /// cancellation); `poll` throwing ends the wait with that error.
    func wait(poll: () throws -> Void) throws -> RolloutResult {
        while signal.wait(timeout: .now() + .milliseconds(50)) == .timedOut {
            try poll()
        }
        guard let outcome = slot.withLock({ $0 }) else {
            throw WorkerError(.backend, "the engine thread signalled a rollout without a result")
        }
        return try outcome.get()
    }
}
