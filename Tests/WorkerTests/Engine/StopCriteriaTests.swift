import Testing

@testable import Worker

@Suite("StopCriteria")
struct StopCriteriaTests {
    @Test("stop tokens, token sequences, text and the length cap, in that order")
    func reasons() {
        let stop = StopCriteria(maxTokens: 5, tokenIDs: [2], tokenSequences: [[7, 8]]) { ids in ids.last == 99 }
        #expect(stop.reason(after: []) == nil)
        #expect(stop.reason(after: [5, 2]) == .stopToken)
        #expect(stop.reason(after: [1, 7, 8]) == .stopSequence)
        #expect(stop.reason(after: [8, 7]) == nil)
        #expect(stop.reason(after: [99]) == .stopText)
        #expect(stop.reason(after: [1, 1, 1, 1, 1]) == .maxTokens)
    }

    @Test("chat steps end at <|im_end|> or after </tool_call>")
    func chatStep() throws {
        let path = try EngineFixtures.requireModelPath()
        let tokenizer = try Tokenizer(gguf: GGUFFile(path: path))
        let stop = StopCriteria.chatStep(tokenizer: tokenizer, maxTokens: 100)
        let call = tokenizer.encode("<tool_call>{\"name\": \"python\", \"arguments\": {}}</tool_call>\n").map(Int.init)
        #expect(stop.reason(after: call) == .stopText)
        #expect(stop.reason(after: Array(call.dropLast(3))) == nil)
        let end = try #require(tokenizer.id(of: "<|im_end|>"))
        #expect(stop.reason(after: [504, Int(end)]) == .stopToken)
    }
}
