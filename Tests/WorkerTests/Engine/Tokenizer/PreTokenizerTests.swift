import Testing

@testable import Worker

/// Word splits derived by hand from the `smollm` rules (digits alone, then the GPT-2 regex),
/// including the llama.cpp details `PreTokenizer` documents.
struct PreTokenizerTests {
    private func words(_ text: String) -> [String] {
        let scalars = Array(text.unicodeScalars)
        return PreTokenizer().words(of: scalars).map { range in
            var view = String.UnicodeScalarView()
            view.append(contentsOf: scalars[range])
            return String(view)
        }
    }

    @Test(arguments: [
        ("Hello world", ["Hello", " world"]),
        (" Hello  world ", [" Hello", " ", " world", " "]),
        ("I'm they'll it's", ["I", "'m", " they", "'ll", " it", "'s"]),
        ("I'M", ["I", "'", "M"]),  // contractions are lower-case only
        ("x12345y", ["x", "1", "2", "3", "4", "5", "y"]),
        ("a 12", ["a", " ", "1", "2"]),  // the space cannot join a digit: digits were split first
        ("tabs\tand\nnew", ["tabs", "\t", "and", "\n", "new"]),
        ("a   b", ["a", "  ", " b"]),  // \s+(?!\S) leaves the last space to the word
        ("a\n\n\nb", ["a", "\n\n", "\n", "b"]),
        ("end   ", ["end", "   "]),  // trailing whitespace stays whole
        ("x ** 2  # c", ["x", " **", " ", "2", " ", " #", " c"]),
        ("Café — 你好！", ["Café", " —", " 你好", "！"]),
        ("😀🙂 ok", ["😀🙂", " ok"]),
        ("x²³", ["x", "²", "³"]),  // other numbers (No) split too
        ("a\u{00A0}b", ["a", "\u{00A0}", "b"]),  // NBSP is whitespace, not the optional space
        ("", []),
    ])
    func splits(_ text: String, _ expected: [String]) {
        #expect(words(text) == expected)
    }

    @Test func classes() {
        #expect(PreTokenizer.classify("é") == .letter)
        #expect(PreTokenizer.classify("٣") == .number)
        #expect(PreTokenizer.classify("\u{3000}") == .whitespace)
        #expect(PreTokenizer.classify("\u{1C}") == .other)  // not White_Space, unlike Python's isspace
        #expect(PreTokenizer.classify("\u{0301}") == .other)  // combining marks are neither L nor N
    }
}
