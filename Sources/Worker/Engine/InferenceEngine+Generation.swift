import Kernels

/// The tokens one sequence sampled in a `generate` call and why it stopped.
public struct GeneratedStep: Sendable {
    /// Sampled tokens in order, each with its log-prob and entropy.
    public var tokens: [SampledToken]
    /// Why generation of this sequence ended.
    public var finish: FinishReason

    /// The sampled ids.
    public var ids: [Int] { tokens.map(\.id) }
}

extension InferenceEngine {
    /// Samples tokens for every sequence of `batch` until each meets `stop`, decoding all
    /// unfinished sequences together in one batched step per token.
    ///
    /// Finished sequences drop out of the batch; their last sampled token stays pending and is run
    /// by the next `append` (the tool response) or `step`. Returns one `GeneratedStep` per
    /// sequence, in `batch` order. Draws from `generator` in batch order at every step, so the
    /// same seed and batch replay the same tokens. Throws what `step` throws.
    public func generate(
        _ batch: [SequenceID], sampling: SamplingParameters, stop: StopCriteria,
        using generator: inout some RandomNumberGenerator
    ) throws -> [GeneratedStep] {
        var generated = [[SampledToken]](repeating: [], count: batch.count)
        var finish = [FinishReason?](repeating: nil, count: batch.count)
        if stop.maxTokens <= 0 { return batch.map { _ in GeneratedStep(tokens: [], finish: .maxTokens) } }
        while true {
            let live = batch.indices.filter { finish[$0] == nil }
            if live.isEmpty { break }
            var runnable: [Int] = []
            for i in live {
                if let count = tokens(of: batch[i])?.count, count >= maxContext {
                    finish[i] = .contextFull
                } else {
                    runnable.append(i)
                }
            }
            if runnable.isEmpty { break }
            let sampled = try step(runnable.map { batch[$0] }, sampling: sampling, using: &generator)
            for (i, token) in zip(runnable, sampled) {
                generated[i].append(token)
                finish[i] = stop.reason(after: generated[i].map(\.id))
            }
        }
        return batch.indices.map { GeneratedStep(tokens: generated[$0], finish: finish[$0] ?? .maxTokens) }
    }
}
