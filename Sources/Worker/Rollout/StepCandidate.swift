import Kernels

/// Why a step stopped.
enum StepStop: Equatable, Sendable {
    /// The model sampled `<|im_end|>` (or EOS); the token is part of the step.
    case endOfTurn
    /// The step's text ends with `</tool_call>` (the tag is kept), or a server stopped the turn
    /// without returning its end token (the chat template then closes the turn).
    case toolCallClosed
    /// `max_step_tokens` were sampled.
    case tokenLimit
    /// The sequence reached the generator's context limit.
    case contextLimit

    static let toolCallCloseBytes = Array("</tool_call>".utf8)
}

/// A whole step generated at once (a remote completion): ids, log-probs, entropies, why it ended.
struct CompletedStep: Sendable, Equatable {
    var tokens: [Int]
    var logprobs: [Float]
    var entropies: [Float]
    var stop: StepStop
}

/// One candidate next step being generated from `branch` until the step ends: token by token
/// (`absorb`, the builtin engine) or whole (`finish`, a remote server). Loop thread only.
struct StepCandidate<Branch> {
    typealias Stop = StepStop

    /// Node index of the step it continues (0 = the prompt).
    var parent: Int
    /// Which of the parent's candidates this is (0-based); with `parent`, the candidate's
    /// identity, from which its generator is seeded.
    var index: Int
    /// What it generates from: an engine sequence (prompt, earlier steps and tool responses, then
    /// this step's tokens as they are sampled) or the context's ids (remote).
    var branch: Branch
    /// Its own sampling stream (see `BranchRandom`); remote candidates draw their server seed from it.
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

    /// `</tool_call>` as bytes (computed: generic types hold no static storage).
    static var toolCallClose: [UInt8] { StepStop.toolCallCloseBytes }

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

    /// Records a step generated whole.
    mutating func finish(_ step: CompletedStep) {
        tokens = step.tokens
        logprobs = step.logprobs
        entropies = step.entropies
        stop = step.stop
    }
}
