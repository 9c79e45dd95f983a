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
/// A sequence is either *ready* (`logits` holds the next-token distribution after the last cached
/// token and `pending` is nil) or *pending* (`pending` holds a sampled token not yet run through
/// the model; the next `step` runs it together with every other pending sequence).
struct SequenceState {
    /// Cache blocks holding positions 0..<length, `blockSize` per block.
    var blocks: [Int] = []
    /// Tokens whose keys and values are in the cache.
    var length = 0
    /// Every token of the sequence in order, including `pending`.
    var tokens: [Int] = []
    /// A sampled token not yet run.
    var pending: Int? = nil
    /// Next-token logits when ready; empty otherwise.
    var logits: [Float] = []
}
