/// When a generated step ends: a stop token, a stop token sequence, stop text, or a length cap.
///
/// Text checks are supplied as a closure so the engine stays independent of the tokenizer; use
/// `StopCriteria.chatStep(tokenizer:maxTokens:)` for the assistant steps of a tool-using rollout
/// (ends at `<|im_end|>` or after `</tool_call>`).
public struct StopCriteria: Sendable {
    /// Most tokens to sample for one step.
    public var maxTokens: Int
    /// Stop right after sampling any of these ids (the id is kept in the output).
    public var tokenIDs: Set<Int>
    /// Stop when the generated ids end with one of these id sequences.
    public var tokenSequences: [[Int]]
    /// Stop when this returns true for the ids generated so far in the step (for example, their
    /// decoded text ends with a stop string). Called after every sampled token.
    public var text: (@Sendable ([Int]) -> Bool)?

    /// Stop criteria; by default only `maxTokens` applies.
    public init(
        maxTokens: Int, tokenIDs: Set<Int> = [], tokenSequences: [[Int]] = [], text: (@Sendable ([Int]) -> Bool)? = nil
    ) {
        self.maxTokens = maxTokens
        self.tokenIDs = tokenIDs
        self.tokenSequences = tokenSequences
        self.text = text
    }

    /// Criteria for one assistant step of a ChatML tool-using model: stop at `<|im_end|>` (the
    /// turn-end token) or once the decoded step text ends with `</tool_call>` (optionally followed
    /// by whitespace), or after `maxTokens`.
    public static func chatStep(tokenizer: Tokenizer, maxTokens: Int) -> StopCriteria {
        let end = tokenizer.id(of: "<|im_end|>").map { Set([Int($0)]) } ?? []
        return StopCriteria(maxTokens: maxTokens, tokenIDs: end) { ids in
            // Only the tail can newly complete the tag; decode a short suffix.
            let tail = ids.suffix(12).map { Int32($0) }
            guard let text = try? tokenizer.decode(Array(tail), special: true) else { return false }
            return text.trimmingTrailingWhitespace().hasSuffix("</tool_call>")
        }
    }

    /// Why a step ended, or nil to continue, given the ids generated so far.
    func reason(after generated: [Int]) -> FinishReason? {
        guard let last = generated.last else { return nil }
        if tokenIDs.contains(last) { return .stopToken }
        for sequence in tokenSequences where !sequence.isEmpty && generated.count >= sequence.count {
            if Array(generated.suffix(sequence.count)) == sequence { return .stopSequence }
        }
        if let text, text(generated) { return .stopText }
        if generated.count >= maxTokens { return .maxTokens }
        return nil
    }
}

/// Why a generated step ended.
public enum FinishReason: String, Sendable, Codable {
    /// A `StopCriteria.tokenIDs` id was sampled.
    case stopToken = "stop_token"
    /// The ids ended with one of `StopCriteria.tokenSequences`.
    case stopSequence = "stop_sequence"
    /// `StopCriteria.text` matched.
    case stopText = "stop_text"
    /// `StopCriteria.maxTokens` were sampled.
    case maxTokens = "max_tokens"
    /// The sequence reached the engine's context limit.
    case contextFull = "context_full"
}

extension String {
    fileprivate func trimmingTrailingWhitespace() -> Substring {
        var end = endIndex
        while end > startIndex, self[index(before: end)].isWhitespace { end = index(before: end) }
        return self[startIndex..<end]
    }
}
