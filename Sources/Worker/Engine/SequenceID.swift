/// A handle to one sequence (one branch of a rollout tree) inside an `InferenceEngine`.
///
/// Handles are never reused within an engine, so a released handle stays invalid.
public struct SequenceID: Hashable, Sendable, CustomStringConvertible {
    /// The engine-assigned number.
    public let rawValue: Int

    /// `seq#N`.
    public var description: String { "seq#\(rawValue)" }
}

/// The engine's state of one sequence.
///
/// A sequence is *ready* (`logits` holds the next-token distribution after the last cached token
/// and `pending` is empty), *pending* (`pending` holds tokens not yet run through the model: a
/// sampled token, a deferred prompt or tool response; the next `step` runs them in the same
/// forward pass as every other pending sequence), or a *follower*: a fork of a pending sequence
/// that holds no blocks until that sequence has run, then takes its blocks and logits.
struct SequenceState {
    /// Cache blocks holding positions 0..<length, `blockSize` per block.
    var blocks: [Int] = []
    /// Tokens whose keys and values are in the cache.
    var length = 0
    /// Every token of the sequence in order, including `pending`.
    var tokens: [Int] = []
    /// The last tokens of `tokens`, not yet run.
    var pending: [Int] = []
    /// Next-token logits when ready; empty otherwise.
    var logits: [Float] = []
    /// The pending sequence this follower waits for (its id), or nil.
    var follows: Int? = nil
    /// Followers waiting for this sequence's pending tokens to run.
    var followers: [Int] = []
    /// Released by its owner while followers still wait; freed once they have taken its blocks.
    var released = false
}
