import Testing

@testable import Worker

/// Special-token partitioning on a toy vocabulary.
struct SpecialTokenMatcherTests {
    private let matcher = SpecialTokenMatcher(
        texts: ["a", "<|end|>", "<|end|>x", "<u>", ""],
        types: [.normal, .control, .control, .userDefined, .control])

    private func parts(_ text: String, _ parseSpecial: Bool) -> [String] {
        let bytes = Array(text.utf8)
        return matcher.partition(bytes, parseSpecial: parseSpecial).map { fragment in
            switch fragment {
            case .raw(let range): return String(decoding: bytes[range], as: UTF8.self)
            case .token(let id): return "#\(id)"
            }
        }
    }

    @Test func controlTokensNeedParseSpecial() {
        #expect(parts("hi<|end|>there", true) == ["hi", "#1", "there"])
        #expect(parts("hi<|end|>there", false) == ["hi<|end|>there"])
    }

    @Test func userDefinedTokensAlwaysMatch() {
        #expect(parts("<u>a<u>", false) == ["#3", "a", "#3"])
    }

    @Test func longerTokensWin() {
        #expect(parts("<|end|>x<|end|>", true) == ["#2", "#1"])
    }

    @Test func emptyTextHasNoFragments() {
        #expect(parts("", true).isEmpty)
    }
}
