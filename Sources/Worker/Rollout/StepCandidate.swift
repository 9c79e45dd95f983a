import Kernels

/// One candidate next step being decoded: a branch of the engine that samples until the step
/// ends. Engine thread only.
struct StepCandidate {
    /// Why a step stopped.
    enum Stop: Equatable {
        /// The model sampled `<|im_end|>` (or EOS); the token is part of the step.
        case endOfTurn
        /// The step's text ends with `</tool_call>` (the tag is kept).
        case toolCallClosed
        /// `max_step_tokens` were sampled.
        case tokenLimit
        /// The sequence reached the engine's context limit.
        case contextLimit
    }

    /// Node index of the step it continues (0 = the prompt).
    var parent: Int
    /// Which of the parent's candidates this is (0-based); with `parent`, the candidate's
    /// identity, from which its generator is seeded.
    var index: Int
    /// Its engine sequence (prompt, earlier steps and tool responses, then this step's tokens).
    var sequence: SequenceID?
    /// Its own sampling stream (see `BranchRandom`).
    var random: SeededRandom
    /// PruneTIR state of the trajectory it continues.
    var tracker: ToolFailureTracker
    /// Sampled ids, their log-probs and entropies.
    var tokens: [Int] = []
    var logprobs: [Float] = []
    var entropies: [Float] = []
    /// The last bytes of the step's text, for spotting `</tool_call>`.
    var tail: [UInt8] = []
    /// Set when the step has ended.
    var stop: Stop?

    /// Whether the step has ended.
    var isDone: Bool { stop != nil }

    static let toolCallClose = Array("</tool_call>".utf8)

    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard haystack.count >= needle.count else { return false }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if Array(haystack[start..<(start + needle.count)]) == needle { return true }
        }
        return false
    }

    /// Records one sampled token and decides whether the step ends with it.
    mutating func absorb(_ token: SampledToken, bytes: [UInt8], isEndOfTurn: Bool, maxTokens: Int, atContextLimit: Bool) {
        tokens.append(token.id)
        logprobs.append(token.logProb)
        entropies.append(token.entropy)
        tail += bytes
        if tail.count > 64 { tail.removeFirst(tail.count - 32) }
        if isEndOfTurn {
            stop = .endOfTurn
        } else if Self.contains(tail, Self.toolCallClose) {
            // Anywhere in the tail: a token may carry bytes past the tag, and an earlier
            // occurrence would already have ended the step.
            stop = .toolCallClosed
        } else if tokens.count >= maxTokens {
            stop = .tokenLimit
        } else if atContextLimit {
            stop = .contextLimit
        }
    }
}
