import Foundation
import Kernels
import Synchronization

/// The builtin step generator: Arbor's engine, one batched decode step over every live branch
/// of every tree at a time. New prompts and tool responses are queued on the engine (see
/// `EngineBranches`) and run inside that step's forward pass, so a tree that starts or returns
/// from its tools joins the running batch. Engine thread only (the engine is not thread-safe).
final class EngineDecoder: StepGenerator {
    let engine: InferenceEngine
    let text: ModelText

    /// Builds the engine over `model` (on the calling thread, which must be the loop thread).
    init(model: LlamaModel, text: ModelText, options: EngineOptions) {
        engine = InferenceEngine(model: model, options: options)
        self.text = text
    }

    /// The loop serving `model` on a thread named "arbor-engine".
    static func loop(model: LlamaModel, text: ModelText, options: EngineOptions) -> RolloutLoop<EngineDecoder> {
        RolloutLoop(name: "arbor-engine") { _ in EngineDecoder(model: model, text: text, options: options) }
    }

    func store(for plan: TreePlan) -> EngineBranches {
        EngineBranches(engine: engine, prefixSharing: plan.prefixSharing)
    }

    /// One batched decode step over every live branch of every tree (one engine call per distinct
    /// sampling setting; a job normally has one). Returns nil when there was nothing to decode.
    func generate(
        _ trees: [Int: TreeRollout<EngineBranches>], counters: borrowing Mutex<EngineUtilization>
    ) -> [TreeRollout<EngineBranches>]? {
        var groups: [(sampling: SamplingParameters, rows: [(tree: TreeRollout<EngineBranches>, candidate: Int)])] = []
        for key in trees.keys.sorted() {
            let tree = trees[key]!
            for (index, candidate) in tree.candidates.enumerated() where !candidate.isDone {
                if let g = groups.firstIndex(where: { $0.sampling == tree.plan.sampling }) {
                    groups[g].rows.append((tree, index))
                } else {
                    groups.append((tree.plan.sampling, [(tree, index)]))
                }
            }
        }
        guard !groups.isEmpty else { return nil }
        for group in groups {
            // Pending sequences first: the sampler then draws in batch order (see BranchRandom).
            let rows = group.rows.filter { isPending($0) } + group.rows.filter { !isPending($0) }
            let sequences = rows.map { $0.tree.candidates[$0.candidate].branch }
            var random = BranchRandom(streams: rows.map { $0.tree.candidates[$0.candidate].random })
            let started = ContinuousClock.now
            let before = engine.statistics
            let sampled: [SampledToken]
            do {
                sampled = try engine.step(sequences, sampling: group.sampling, using: &random)
            } catch {
                let failure = error as? WorkerError ?? WorkerError(.backend, "decode step failed", cause: error)
                for row in rows where row.tree.failure == nil { row.tree.failure = failure }
                continue
            }
            let seconds = RolloutLoop<EngineDecoder>.seconds(started.duration(to: .now))
            let after = engine.statistics
            counters.withLock {
                $0.busySeconds += seconds
                $0.countStep(rows: rows.count, trees: trees.count)
                $0.generatedTokens += rows.count
                $0.prefillRows += after.prefillRows - before.prefillRows
                $0.mixedPasses += after.mixedPasses - before.mixedPasses
            }
            var charged = Set<Int>()
            for (k, row) in rows.enumerated() {
                let tree = row.tree
                if charged.insert(tree.key).inserted { tree.addEngineTime(seconds) }
                tree.countGeneratedTokens()
                let token = sampled[k]
                let bytes = (try? text.tokenizer.decodeBytes([Int32(token.id)], special: false)) ?? []
                let length = engine.sequences[sequences[k].rawValue]?.tokens.count ?? 0
                tree.candidates[row.candidate].random = random.streams[k]
                tree.candidates[row.candidate].absorb(
                    token, bytes: bytes, isEndOfTurn: text.stopIDs.contains(token.id),
                    maxTokens: tree.plan.maxStepTokens, atContextLimit: length >= engine.maxContext - 1)
            }
        }
        var touched = Set<Int>()
        var order: [TreeRollout<EngineBranches>] = []
        for group in groups {
            for row in group.rows where touched.insert(row.tree.key).inserted { order.append(row.tree) }
        }
        return order
    }

    private func isPending(_ row: (tree: TreeRollout<EngineBranches>, candidate: Int)) -> Bool {
        guard let state = engine.sequences[row.tree.candidates[row.candidate].branch.rawValue] else { return false }
        return !state.pending.isEmpty || state.follows != nil
    }
}
