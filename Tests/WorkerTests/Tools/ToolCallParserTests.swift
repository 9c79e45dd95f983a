import Testing

@testable import Worker

/// The `<tool_call>` parser: a table of well-formed and malformed steps, plus a seeded fuzz loop.
struct ToolCallParserTests {
    struct Case: Sendable, CustomStringConvertible {
        let name: String
        let text: String
        /// Expected entries: a tool name for a call, or the error.
        let expected: [Result<String, ToolFormatError>]
        var tagsWellFormed = true
        var description: String { name }
    }

    static let cases: [Case] = [
        Case(name: "one call", text: #"<tool_call>{"name": "python", "arguments": {"code": "print(1)"}}</tool_call>"#,
             expected: [.success("python")]),
        Case(name: "whitespace and newlines",
             text: "I will compute.\n<tool_call>\n  {\"name\": \"calculator\",\n \"arguments\": {\"expression\": \"1+1\"}}\n</tool_call>\n",
             expected: [.success("calculator")]),
        Case(name: "a JSON list in one tag",
             text: #"<tool_call>[{"name": "a", "arguments": {}}, {"name": "b", "arguments": {"x": 1}}]</tool_call>"#,
             expected: [.success("a"), .success("b")]),
        Case(name: "two tags", text: #"<tool_call>{"name":"a"}</tool_call> and <tool_call>{"name":"b"}</tool_call>"#,
             expected: [.success("a"), .success("b")]),
        Case(name: "think block hides a call",
             text: #"<think>maybe <tool_call>{"name":"x"}</tool_call></think><tool_call>{"name":"y"}</tool_call>"#,
             expected: [.success("y")]),
        Case(name: "leading </think> (template opened the block)",
             text: #"draft <tool_call>{"name":"x"}</tool_call></think>answer"#, expected: []),
        Case(name: "unclosed think hides the rest", text: #"<think>thinking <tool_call>{"name":"x"}"#, expected: []),
        Case(name: "unclosed final call is tolerated", text: #"<tool_call>{"name": "python", "arguments": {"code": "1"}}"#,
             expected: [.success("python")]),
        Case(name: "arguments as a JSON string", text: #"<tool_call>{"name":"a","arguments":"{\"k\": 2}"}</tool_call>"#,
             expected: [.success("a")]),
        Case(name: "code fence inside the tag", text: "<tool_call>```json\n{\"name\":\"a\",\"arguments\":{}}\n```</tool_call>",
             expected: [.success("a")]),
        Case(name: "final answer, no call", text: "The answer is 42.", expected: []),
        Case(name: "empty tag", text: "<tool_call>  </tool_call>", expected: [.failure(.emptyCall)]),
        Case(name: "empty list", text: "<tool_call>[]</tool_call>", expected: [.failure(.emptyCall)]),
        Case(name: "not JSON", text: "<tool_call>{name: python}</tool_call>", expected: [.failure(.invalidJSON(""))]),
        Case(name: "truncated JSON", text: #"<tool_call>{"name": "python", "arguments": {"code": "#,
             expected: [.failure(.invalidJSON(""))]),
        Case(name: "a number", text: "<tool_call>42</tool_call>", expected: [.failure(.notAnObject(found: "integer"))]),
        Case(name: "no name", text: #"<tool_call>{"arguments": {}}</tool_call>"#, expected: [.failure(.missingName)]),
        Case(name: "name not a string", text: #"<tool_call>{"name": 3}</tool_call>"#, expected: [.failure(.missingName)]),
        Case(name: "arguments a list", text: #"<tool_call>{"name": "a", "arguments": [1]}</tool_call>"#,
             expected: [.failure(.argumentsNotObject(found: "array"))]),
        Case(name: "list with a bad element", text: #"<tool_call>[{"name": "a"}, 5]</tool_call>"#,
             expected: [.success("a"), .failure(.notAnObject(found: "integer"))]),
        Case(name: "reopened before close",
             text: #"<tool_call>{"name":"a"} <tool_call>{"name":"b"}</tool_call>"#,
             expected: [.failure(.unclosedTag), .success("b")], tagsWellFormed: false),
        Case(name: "stray closing tag", text: #"oops</tool_call> <tool_call>{"name":"a"}</tool_call>"#,
             expected: [.success("a")], tagsWellFormed: false),
    ]

    @Test("table of well-formed and malformed calls", arguments: cases)
    func table(_ testCase: Case) {
        let parsed = ToolCallParser.parse(testCase.text)
        #expect(parsed.entries.count == testCase.expected.count)
        for (entry, expected) in zip(parsed.entries, testCase.expected) {
            switch (entry, expected) {
            case (.success(let call), .success(let name)):
                #expect(call.name == name)
            case (.failure(.invalidJSON), .failure(.invalidJSON)):
                break
            case (.failure(let error), .failure(let expectedError)):
                #expect(error == expectedError)
            default:
                Issue.record("\(testCase.name): got \(entry), expected \(expected)")
            }
        }
        #expect(parsed.tagsWellFormed == testCase.tagsWellFormed)
    }

    @Test("arguments survive parsing, including a JSON-string form")
    func argumentValues() throws {
        let parsed = ToolCallParser.parse(#"<tool_call>{"name":"a","arguments":"{\"k\": 2, \"s\": \"x\"}"}</tool_call>"#)
        let call = try #require(try? parsed.entries.first?.get())
        #expect(call.arguments == ["k": 2, "s": "x"])
        let visible = ToolCallParser.parse("<think>hmm</think>The answer is 7.")
        #expect(visible.visibleText == "The answer is 7.")
        #expect(!visible.isToolStep)
    }

    /// A small deterministic generator, so a failing fuzz input can be replayed.
    struct SplitMix64: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    @Test("seeded fuzz: no crash, every input classified")
    func fuzz() {
        var random = SplitMix64(state: 20_240_604)
        let pieces = ["<tool_call>", "</tool_call>", "<think>", "</think>", "{", "}", "[", "]", "\"", ":", ",",
            "\"name\"", "\"arguments\"", "\"python\"", "1", "-", "null", "true", " ", "\n", "\\", "\\u00", "é", "🙂",
            "```", "<tool_", "call>", "\u{0}", "{\"name\":\"a\",\"arguments\":{}}"]
        for _ in 0..<3000 {
            var text = ""
            for _ in 0..<Int.random(in: 0...24, using: &random) {
                text += pieces.randomElement(using: &random)!
            }
            if Bool.random(using: &random), !text.isEmpty {
                // Byte-level damage: cut at a random scalar boundary.
                text = String(text.unicodeScalars.prefix(Int.random(in: 0..<text.unicodeScalars.count, using: &random))
                    .map(Character.init))
            }
            let parsed = ToolCallParser.parse(text)
            let opens = text.components(separatedBy: "<tool_call>").count - 1
            // Classified: each entry is a call or a typed error, and a step with no opening tag
            // has no entries.
            if opens == 0 { #expect(parsed.entries.isEmpty, "entries without a tag in \(text.debugDescription)") }
            for case .success(let call) in parsed.entries { #expect(!call.name.isEmpty) }
        }
    }
}
