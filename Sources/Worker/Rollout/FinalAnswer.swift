import Foundation

/// The final answer of a trajectory, taken from the text of its last step.
///
/// The rule, in order (what the verifiers of docs/job-file.md's task sets score):
/// 1. the content of the **last** closed `<answer>…</answer>` pair, trimmed (it may be empty:
///    an explicit empty answer is an abstention);
/// 2. otherwise, for `numeric` tasks, the last number in the step's visible text (outside
///    `<think>` blocks and tool calls);
/// 3. otherwise the last non-empty line of the visible text;
/// 4. otherwise there is no answer (the step produced no visible text).
///
/// Pure and thread-safe.
public struct FinalAnswer: Sendable, Equatable {
    /// Where the answer came from.
    public enum Source: String, Sendable, Equatable {
        /// The last closed `<answer>…</answer>` pair.
        case tagged
        /// The last number of the visible text (numeric tasks without answer tags).
        case lastNumber
        /// The last non-empty line of the visible text.
        case lastLine
        /// Nothing usable: the step had no visible text.
        case none
    }

    /// The answer text (empty when `source` is `.none` or the tags were empty).
    public var text: String
    /// How it was found.
    public var source: Source

    /// An answer from its parts.
    public init(text: String, source: Source) {
        self.text = text
        self.source = source
    }

    static let open = "<answer>"
    static let close = "</answer>"

    /// Extracts the answer of `stepText` (the step's decoded text, control tokens removed).
    ///
    /// - Parameter preferNumber: fall back to the last number before the last line (numeric tasks).
    public static func extract(from stepText: String, preferNumber: Bool = false) -> FinalAnswer {
        if let tagged = lastTagged(in: stepText) {
            return FinalAnswer(text: tagged, source: .tagged)
        }
        let visible = ToolCallParser.parse(stepText).visibleText
        if preferNumber, let number = NumericAnswer.numberTexts(in: visible).last {
            return FinalAnswer(text: number, source: .lastNumber)
        }
        let lines = visible.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        if let last = lines.last { return FinalAnswer(text: last, source: .lastLine) }
        return FinalAnswer(text: "", source: .none)
    }

    /// The trimmed content of the last closed `<answer>…</answer>` pair, or nil.
    static func lastTagged(in text: String) -> String? {
        guard let closeRange = text.range(of: close, options: .backwards),
            let openRange = text.range(of: open, options: .backwards, range: text.startIndex..<closeRange.lowerBound)
        else { return nil }
        return text[openRange.upperBound..<closeRange.lowerBound].trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Whether the step states its answer in exactly one well-formed `<answer>…</answer>` pair:
    /// the format check of a final step.
    public static func hasWellFormedTags(_ stepText: String) -> Bool {
        let opens = stepText.components(separatedBy: open).count - 1
        let closes = stepText.components(separatedBy: close).count - 1
        guard opens == 1, closes == 1, let o = stepText.range(of: open), let c = stepText.range(of: close) else {
            return false
        }
        return o.upperBound <= c.lowerBound
    }

    // MARK: - Abstention

    /// Phrases (after `normalized`) that mark an answer as an abstention.
    static let abstentionPhrases = [
        "i dont know", "i do not know", "im not sure", "i am not sure", "not sure", "cannot be determined",
        "cant be determined", "cannot determine", "cant determine", "unable to determine", "unable to answer",
        "cannot answer", "cant answer", "not enough information", "insufficient information", "no answer",
        "unknown",
    ]

    /// Whether the answer abstains: empty (`<answer></answer>`) or saying it does not know.
    /// A step with no answer at all (`source == .none`) does not abstain: it failed to answer.
    public var isAbstention: Bool {
        guard source != .none else { return false }
        let normal = Self.normalized(text)
        if normal.isEmpty { return true }
        let padded = " \(normal) "
        return Self.abstentionPhrases.contains { padded.contains(" \($0) ") }
    }

    // MARK: - Normalisation

    /// SQuAD-style normalisation: lower case, punctuation and symbols removed (apostrophes
    /// vanish, so "don't" → "dont"), the articles a/an/the dropped, whitespace collapsed.
    public static func normalized(_ text: String) -> String {
        var cleaned = ""
        cleaned.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.lowercased().unicodeScalars {
            if scalar == "'" || scalar == "\u{2019}" { continue }
            if CharacterSet.punctuationCharacters.contains(scalar) || CharacterSet.symbols.contains(scalar) {
                cleaned.unicodeScalars.append(" ")
            } else {
                cleaned.unicodeScalars.append(scalar)
            }
        }
        let articles: Set<Substring> = ["a", "an", "the"]
        return cleaned.split(whereSeparator: { $0.isWhitespace }).filter { !articles.contains($0) }
            .joined(separator: " ")
    }
}
