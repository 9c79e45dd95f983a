/// Finds special tokens written out in text (`<|im_start|>`) and cuts the text around them, so
/// they become single ids and the rest goes through pre-tokenization and BPE.
///
/// Matches `tokenizer_st_partition` in
/// https://github.com/ggml-org/llama.cpp/blob/00ad355e009e83abf98f96a6ded7193b95763681/src/llama-vocab.cpp:
/// - candidates are the control, user-defined and unknown tokens; control and unknown ones are
///   matched only when the caller asks for special parsing (llama.cpp's `parse_special`), while
///   user-defined ones are always matched (as Hugging Face tokenizers does for added tokens);
/// - tokens are tried longest text first, each over every remaining raw fragment, left to
///   right, without overlaps. llama.cpp's `std::sort` leaves equal-length tokens in an
///   unspecified order; we break that tie by id, which only matters for equal-length tokens
///   that overlap in some text (none do in SmolLM2's vocabulary).
/// - llama.cpp's per-model lstrip/rstrip attributes are not in GGUF metadata and are not applied.
struct SpecialTokenMatcher: Sendable {
    /// One piece of partitioned text.
    enum Fragment: Equatable, Sendable {
        /// Raw text still to be pre-tokenized: a byte range of the partitioned text.
        case raw(Range<Int>)
        /// A special token matched in the text.
        case token(Int32)
    }

    private struct Candidate: Sendable {
        var bytes: [UInt8]
        var id: Int32
        /// Whether the token is matched without special parsing (user-defined tokens).
        var alwaysMatched: Bool
    }

    private let candidates: [Candidate]

    /// Collects the matchable tokens of a vocabulary.
    init(texts: [String], types: [TokenType]) {
        var candidates: [Candidate] = []
        for (index, type) in types.enumerated() where !texts[index].isEmpty {
            switch type {
            case .control, .unknown:
                candidates.append(Candidate(bytes: Array(texts[index].utf8), id: Int32(index), alwaysMatched: false))
            case .userDefined:
                candidates.append(Candidate(bytes: Array(texts[index].utf8), id: Int32(index), alwaysMatched: true))
            case .normal, .unused, .byte, .undefined:
                continue
            }
        }
        self.candidates = candidates.sorted {
            $0.bytes.count != $1.bytes.count ? $0.bytes.count > $1.bytes.count : $0.id < $1.id
        }
    }

    /// Cuts `text` (UTF-8 bytes) into raw ranges and matched tokens, in order.
    ///
    /// - Parameter parseSpecial: whether control and unknown tokens are recognised.
    /// - Complexity: O(t · n) byte comparisons in the worst case, for t candidate tokens.
    func partition(_ text: [UInt8], parseSpecial: Bool) -> [Fragment] {
        guard !text.isEmpty else { return [] }
        var fragments: [Fragment] = [.raw(0..<text.count)]
        for candidate in candidates where parseSpecial || candidate.alwaysMatched {
            var split: [Fragment] = []
            split.reserveCapacity(fragments.count)
            for fragment in fragments {
                guard case .raw(let range) = fragment else {
                    split.append(fragment)
                    continue
                }
                var start = range.lowerBound
                while let match = Self.firstMatch(of: candidate.bytes, in: text, from: start, to: range.upperBound) {
                    if match > start { split.append(.raw(start..<match)) }
                    split.append(.token(candidate.id))
                    start = match + candidate.bytes.count
                }
                if start < range.upperBound { split.append(.raw(start..<range.upperBound)) }
            }
            fragments = split
        }
        return fragments
    }

    /// The first index ≥ `from` where `needle` occurs entirely before `to`.
    private static func firstMatch(of needle: [UInt8], in text: [UInt8], from: Int, to: Int) -> Int? {
        guard let first = needle.first, to - from >= needle.count else { return nil }
        var index = from
        let last = to - needle.count
        while index <= last {
            if text[index] == first {
                var offset = 1
                while offset < needle.count && text[index + offset] == needle[offset] { offset += 1 }
                if offset == needle.count { return index }
            }
            index += 1
        }
        return nil
    }
}
