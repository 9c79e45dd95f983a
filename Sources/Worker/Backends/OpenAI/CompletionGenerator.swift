import Foundation
import Kernels
import Synchronization

/// The remote step generator: one completion request per candidate step, all candidates of all
/// trees in flight at once (the server batches them). Loop thread only; the requests run as
/// tasks on the cooperative pool and post their steps back as `.generated` events.
final class CompletionGenerator: StepGenerator {
    let server: CompletionServer
    let occupancy: ServerOccupancy
    var text: ModelText { server.text }
    private let post: @Sendable (Int, RolloutEvent) -> Void
    /// Requests started, by tree key then (parent, index) of the candidate.
    private var running: [Int: [CandidateKey: Task<Void, Never>]] = [:]

    struct CandidateKey: Hashable {
        var parent: Int
        var index: Int
    }

    init(server: CompletionServer, occupancy: ServerOccupancy, post: @escaping @Sendable (Int, RolloutEvent) -> Void) {
        self.server = server
        self.occupancy = occupancy
        self.post = post
    }

    /// The loop serving `server` on a thread named "arbor-remote".
    static func loop(server: CompletionServer, occupancy: ServerOccupancy) -> RolloutLoop<CompletionGenerator> {
        RolloutLoop(name: "arbor-remote") { post in CompletionGenerator(server: server, occupancy: occupancy, post: post) }
    }

    func store(for plan: TreePlan) -> TokenBranches { TokenBranches(maxContext: server.settings.contextLength) }

    /// Starts a request for every candidate that has none yet; returns nil (the steps come back
    /// as events).
    func generate(
        _ trees: [Int: TreeRollout<TokenBranches>], counters: borrowing Mutex<EngineUtilization>
    ) -> [TreeRollout<TokenBranches>]? {
        for key in trees.keys.sorted() {
            let tree = trees[key]!
            for slot in tree.candidates.indices where !tree.candidates[slot].isDone {
                let candidate = tree.candidates[slot]
                let id = CandidateKey(parent: candidate.parent, index: candidate.index)
                guard running[key]?[id] == nil else { continue }
                // The server seed comes from the candidate's own stream: the same request replays.
                var random = candidate.random
                let seed = UInt32(truncatingIfNeeded: random.next() >> 33)
                let context = candidate.branch
                let budget = min(tree.plan.maxStepTokens, server.settings.contextLength - 1 - context.count)
                let maxStepTokens = tree.plan.maxStepTokens
                let sampling = tree.plan.sampling
                let server = server
                let post = post
                let occupancy = occupancy
                occupancy.begin()
                running[key, default: [:]][id] = Task.detached {
                    let started = ContinuousClock.now
                    let outcome = await server.step(
                        context: context, budget: budget, maxStepTokens: maxStepTokens, sampling: sampling, seed: seed)
                    let seconds = RolloutLoop<CompletionGenerator>.seconds(started.duration(to: .now))
                    occupancy.end(seconds: seconds)
                    post(key, .generated(parent: id.parent, index: id.index, seconds: seconds, outcome))
                }
            }
        }
        return nil
    }

    func forget(_ key: Int) {
        for task in running.removeValue(forKey: key)?.values ?? [:].values { task.cancel() }
    }
}
