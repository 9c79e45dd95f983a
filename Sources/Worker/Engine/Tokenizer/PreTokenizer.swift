/// Splits raw text into the words ("pre-tokens") that BPE merges run inside, the way llama.cpp
/// does for the `smollm` pre-tokenizer type.
///
/// llama.cpp gives `smollm` two regexes applied in sequence (llm_tokenizer_bpe in
/// https://github.com/ggml-org/llama.cpp/blob/00ad355e009e83abf98f96a6ded7193b95763681/src/llama-vocab.cpp):
/// 1. `\p{N}` — every number scalar becomes a word of its own, and the text between numbers
///    becomes separate spans;
/// 2. the GPT-2 regex `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
///    inside each span, run by its hand-written matcher `unicode_regex_split_custom_gpt2` in
///    https://github.com/ggml-org/llama.cpp/blob/0c4093cc5bdd0062b017a46017538fffa3ab8d5d/src/unicode.cpp
///
/// This is a port of that matcher's behaviour, not of a regex engine, and it keeps its details:
/// contractions are case-sensitive ASCII; the optional leading space is U+0020 only; a span's
/// end counts as "not `\S`", so trailing whitespace stays one word; lookahead never crosses a
/// span (so a digit never lets the whitespace before it keep its last character).
/// Categories: `\p{L}` = general category L*, `\p{N}` = N* (Nd, Nl, No), `\s` = the Unicode
/// White_Space property, as in llama.cpp's generated unicode-data tables; Swift's scalar
/// properties supply them (the Unicode versions may differ on newly assigned scalars only).
struct PreTokenizer: Sendable {
    /// How one scalar takes part in the GPT-2 regex; the four classes are disjoint because
    /// White_Space scalars are all Zs, Zl, Zp or Cc.
    enum ScalarClass: UInt8, Sendable {
        case letter, number, whitespace, other
    }

    /// Word boundaries of `scalars`, as half-open index ranges covering the input in order.
    ///
    /// - Complexity: O(n) in the number of scalars.
    func words(of scalars: [Unicode.Scalar]) -> [Range<Int>] {
        let classes = scalars.map(Self.classify)
        var words: [Range<Int>] = []
        words.reserveCapacity(scalars.count / 3 + 1)
        // Regex 1 (`\p{N}`): numbers are single-scalar words; the rest forms spans.
        var spanStart = 0
        for index in classes.indices where classes[index] == .number {
            if spanStart < index {
                splitGPT2(scalars, classes, spanStart..<index, into: &words)
            }
            words.append(index..<(index + 1))
            spanStart = index + 1
        }
        if spanStart < scalars.count {
            splitGPT2(scalars, classes, spanStart..<scalars.count, into: &words)
        }
        return words
    }

    /// Regex 2 (GPT-2) over one span; nothing outside `span` is looked at.
    private func splitGPT2(
        _ scalars: [Unicode.Scalar], _ classes: [ScalarClass], _ span: Range<Int>,
        into words: inout [Range<Int>]
    ) {
        let end = span.upperBound
        var pos = span.lowerBound
        while pos < end {
            let scalar = scalars[pos].value
            // 's|'t|'re|'ve|'m|'ll|'d
            if scalar == 0x27, pos + 1 < end {
                let next = scalars[pos + 1].value
                if next == 0x73 || next == 0x74 || next == 0x6D || next == 0x64 {  // s t m d
                    words.append(pos..<(pos + 2))
                    pos += 2
                    continue
                }
                if pos + 2 < end {
                    let pair = (next, scalars[pos + 2].value)
                    if pair == (0x72, 0x65) || pair == (0x76, 0x65) || pair == (0x6C, 0x6C) {  // re ve ll
                        words.append(pos..<(pos + 3))
                        pos += 3
                        continue
                    }
                }
            }
            // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: one optional U+0020, then a run of one class.
            let runStart = scalar == 0x20 ? pos + 1 : pos
            if runStart < end, classes[runStart] != .whitespace {
                let runClass = classes[runStart]
                var runEnd = runStart + 1
                while runEnd < end && classes[runEnd] == runClass { runEnd += 1 }
                words.append(pos..<runEnd)
                pos = runEnd
                continue
            }
            // `\s+(?!\S)|\s+`: a whitespace run followed by more text leaves its last scalar to
            // start the next word (so " world" keeps its space); at the span's end it stays whole.
            var count = 0
            while pos + count < end && classes[pos + count] == .whitespace { count += 1 }
            if count > 1 && pos + count < end {
                words.append(pos..<(pos + count - 1))
                pos += count - 1
                continue
            }
            // count is at least 1 here: a non-whitespace scalar was taken by the branch above.
            let length = max(count, 1)
            words.append(pos..<(pos + length))
            pos += length
        }
    }

    /// The regex class of `scalar`; ASCII is decided without a property lookup.
    static func classify(_ scalar: Unicode.Scalar) -> ScalarClass {
        let value = scalar.value
        if value < 0x80 {
            switch UInt8(value) {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"): return .letter
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return .number
            case 0x09...0x0D, 0x20: return .whitespace
            default: return .other
            }
        }
        let properties = scalar.properties
        if properties.isWhitespace { return .whitespace }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return .number
        default:
            return .other
        }
    }
}
