import Testing

@testable import Worker

/// The answer-extraction rule and normalisation the verifiers score with (issue 5 item 2).
struct FinalAnswerTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let step: String
        let preferNumber: Bool
        let text: String
        let source: FinalAnswer.Source
        var testDescription: String { step.isEmpty ? "(empty step)" : step }
    }

    static let cases: [Case] = [
        Case(step: "Let me see.\n<answer>42</answer><|im_end|>", preferNumber: false, text: "42", source: .tagged),
        Case(step: "<answer> first </answer> no, <answer>second</answer>", preferNumber: false, text: "second", source: .tagged),
        Case(step: "<answer></answer>", preferNumber: false, text: "", source: .tagged),
        Case(step: "They sold 189,728 umbrellas in total.", preferNumber: true, text: "189,728", source: .lastNumber),
        Case(step: "The capital is\nParis\n\n", preferNumber: false, text: "Paris", source: .lastLine),
        Case(step: "No digits here", preferNumber: true, text: "No digits here", source: .lastLine),
        Case(step: "<tool_call>{\"name\": \"python\"}</tool_call>", preferNumber: false, text: "", source: .none),
        Case(step: "", preferNumber: false, text: "", source: .none),
    ]

    @Test(arguments: cases)
    func extractsTheAnswer(_ c: Case) {
        let answer = FinalAnswer.extract(from: c.step, preferNumber: c.preferNumber)
        #expect(answer.text == c.text)
        #expect(answer.source == c.source)
    }

    @Test func normalisationIgnoresCasePunctuationArticlesAndSpace() {
        #expect(FinalAnswer.normalized("  The Eiffel-Tower!  ") == "eiffel tower")
        #expect(FinalAnswer.normalized("A cat, an owl") == "cat owl")
        #expect(FinalAnswer.normalized("Don't") == "dont")
    }

    @Test(arguments: [
        ("", true), ("I don't know.", true), ("I'm not sure", true), ("It cannot be determined", true),
        ("Unknown", true), ("Paris", false), ("know-how", false),
    ])
    func abstentions(text: String, abstains: Bool) {
        #expect(FinalAnswer(text: text, source: .tagged).isAbstention == abstains)
    }

    @Test func noAnswerIsNotAnAbstention() {
        #expect(!FinalAnswer(text: "", source: .none).isAbstention)
    }

    @Test func wellFormedAnswerTags() {
        #expect(FinalAnswer.hasWellFormedTags("So <answer>7</answer>"))
        #expect(!FinalAnswer.hasWellFormedTags("7"))
        #expect(!FinalAnswer.hasWellFormedTags("<answer>7"))
        #expect(!FinalAnswer.hasWellFormedTags("</answer>7<answer>"))
        #expect(!FinalAnswer.hasWellFormedTags("<answer>1</answer><answer>2</answer>"))
    }
}
