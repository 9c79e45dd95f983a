import Foundation
import Testing

@testable import Worker

/// Reading `/v1/completions` replies into steps: recorded llama-cpp-python 0.3.36 answers, the
/// `token_id:N` form of vLLM/SGLang, and the errors that must fail a step rather than record
/// wrong ids.
@Suite
struct CompletionResponseTests {
    /// Recorded from llama-cpp-python 0.3.36 serving the default model (greedy, logprobs 2):
    /// the model ended its turn, so `finish_reason` is "stop" and `<|im_end|>` is not listed.
    static let recorded = #"""
        {"id": "cmpl-5749", "object": "text_completion", "created": 1795667203, "model": "m",
         "choices": [{"text": "I'm glad to make your acquaintance.", "index": 0,
           "logprobs": {"text_offset": [56, 57, 59, 64, 67, 72, 77, 90],
             "token_logprobs": [-2.069589614868164, -0.26051065325737, -1.6157618761062622, -0.39974382519721985,
                                -1.6375683546066284, -0.9220786094665527, -0.03757010027766228, -0.7231589555740356],
             "tokens": ["I", "'m", " glad", " to", " make", " your", " acquaintance", "."],
             "top_logprobs": [{"I": -2.069589614868164, "Hello": -2.1397438049316406},
                              {"'m": -0.26051065325737, "'d": -2.1290829181671143}, null, null, null, null,
                              {" acquaintance": -0.03757010027766228, " day": -5.118866920471191}, null]},
           "finish_reason": "stop"}],
         "usage": {"prompt_tokens": 11, "completion_tokens": 8, "total_tokens": 19}}
        """#

    private static let loadedServer = Result {
        let tokenizer = try Tokenizer(gguf: GGUFFile(path: EngineFixtures.requireModelPath()))
        return try CompletionServer(
            settings: OpenAIServerSettings(url: "http://127.0.0.1:9/v1"), apiKey: nil,
            text: ModelText(tokenizer: tokenizer, template: ChatTemplate(tokenizer: tokenizer)))
    }

    /// A server description over the default model's tokenizer; throws when the model is absent.
    static func server() throws -> CompletionServer { try loadedServer.get() }

    func read(_ json: String, budget: Int = 40) throws -> CompletedStep {
        let server = try Self.server()
        let response = try CompletionResponse.decode(Data(json.utf8), server: "test")
        return try server.read(response, budget: budget, maxStepTokens: 40)
    }

    @Test func recordedPiecesMapToTheTokenizersIDs() throws {
        let server = try Self.server()
        let step = try read(Self.recorded)
        let tokenizer = server.text.tokenizer
        #expect(step.tokens == tokenizer.encode("I'm glad to make your acquaintance.").map(Int.init))
        #expect(try tokenizer.decode(step.tokens.map(Int32.init)) == "I'm glad to make your acquaintance.")
        #expect(step.logprobs.count == 8 && step.logprobs.allSatisfy { $0 <= 0 && $0.isFinite })
        #expect(abs(step.logprobs[0] - -2.0695896) < 1e-6)
        // "stop" without a stop string and without the end token: the template closes the turn.
        #expect(step.stop == .toolCallClosed)
        // Top-2 renormalised: p = (0.5175, 0.4825) → H ≈ 0.6925 nats; no top list → 0.
        #expect(abs(step.entropies[0] - 0.69290) < 1e-3)
        #expect(step.entropies[2] == 0)
    }

    @Test func tokenIDFormIsUsedAsIsAndItsEndTokenEndsTheTurn() throws {
        let server = try Self.server()
        let ids = server.text.tokenizer.encode("Hi there").map(Int.init) + [Int(server.text.template.turnEndID)]
        let json = """
            {"choices": [{"text": "Hi there", "finish_reason": "stop",
              "logprobs": {"tokens": [\(ids.map { "\"token_id:\($0)\"" }.joined(separator: ","))],
                           "token_logprobs": [\(ids.map { _ in "-0.5" }.joined(separator: ","))],
                           "top_logprobs": null}}],
             "usage": {"completion_tokens": \(ids.count)}}
            """
        let step = try read(json)
        #expect(step.tokens == ids)
        #expect(step.stop == .endOfTurn)
        #expect(step.entropies.allSatisfy { $0 == 0 })
    }

    /// llama-cpp-python cuts `text` before a stop string but lists the tokens that made it.
    @Test func stopStringCutFromTextKeepsItsTokens() throws {
        let server = try Self.server()
        let tokenizer = server.text.tokenizer
        let full = #"<tool_call>{"name": "calculator", "arguments": {"expression": "6*7"}}</tool_call>"#
        let ids = tokenizer.encode(full).map(Int.init)
        let pieces = try ids.map { try tokenizer.decode([Int32($0)], special: false) }
        let text = String(full[..<full.range(of: "</tool_call>")!.lowerBound])
        let body: [String: Any] = [
            "choices": [[
                "text": text, "finish_reason": "stop",
                "logprobs": ["tokens": pieces, "token_logprobs": ids.map { _ in -0.1 }],
            ]],
        ]
        let step = try read(String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self))
        #expect(step.tokens == ids)
        #expect(step.stop == .toolCallClosed)
    }

    @Test func lengthStopIsATokenLimitOrAContextLimit() throws {
        let json = Self.recorded.replacingOccurrences(of: #""finish_reason": "stop""#, with: #""finish_reason": "length""#)
        #expect(try read(json, budget: 40).stop == .tokenLimit)
        #expect(try read(json, budget: 8).stop == .contextLimit)
    }

    @Test func malformedJSONIsABackendErrorNamingTheServer() throws {
        let error = try #require(throws: WorkerError.self) { try CompletionResponse.decode(Data("<html>".utf8), server: "http://h:1/v1") }
        #expect(error.code == .backend && error.message.contains("http://h:1/v1"))
    }

    @Test func missingLogprobsFailTheStep() throws {
        let error = try #require(throws: WorkerError.self) {
            try read(#"{"choices": [{"text": "x", "finish_reason": "stop"}]}"#)
        }
        #expect(error.message.contains("no logprobs"))
    }

    @Test func piecesThatDoNotSpellTheTextFailTheStep() throws {
        let json = Self.recorded.replacingOccurrences(of: "I'm glad to make", with: "I'm glad to take")
        let error = try #require(throws: WorkerError.self) { try read(json) }
        #expect(error.message.contains("do not spell"))
    }

    @Test func aListedCountBelowTheGeneratedCountFailsTheStep() throws {
        let json = Self.recorded.replacingOccurrences(of: #""completion_tokens": 8"#, with: #""completion_tokens": 9"#)
        let error = try #require(throws: WorkerError.self) { try read(json) }
        #expect(error.message.contains("generated 9 tokens but listed 8"))
    }

    @Test func idsThatDecodeToOtherTextFailTheStep() throws {
        let json = """
            {"choices": [{"text": "Hello", "finish_reason": "stop",
              "logprobs": {"tokens": ["token_id:1000"], "token_logprobs": [-0.1]}}]}
            """
        let error = try #require(throws: WorkerError.self) { try read(json) }
        #expect(error.message.contains("same GGUF"))
    }

    @Test func textPromptsMustReEncodeToTheSameIDs() throws {
        let server = try Self.server()
        let tokenizer = server.text.tokenizer
        let canonical = tokenizer.encode("<|im_start|>user\nhello<|im_end|>", parseSpecial: true).map(Int.init)
        #expect(try server.promptText(canonical) == "<|im_start|>user\nhello<|im_end|>")
        // "hello" spelled as single letters: the same text, other ids than the server would use.
        let letters = "hello".map { Int(tokenizer.encode(String($0))[0]) }
        let error = try #require(throws: WorkerError.self) { try server.promptText(letters) }
        #expect(error.message.contains("re-tokenization"))
    }

    @Test func refusedConnectionIsABackendErrorNamingTheURL() async throws {
        var client = try CompletionClient(base: "http://127.0.0.1:9/v1", apiKey: nil)
        client.retries = 1
        let error = await #expect(throws: WorkerError.self) { try await client.post("completions", body: Data("{}".utf8)) }
        #expect(error?.message.contains("http://127.0.0.1:9/v1/completions") == true)
    }

    @Test func notAnHTTPURLIsAConfigurationError() {
        #expect(throws: WorkerError.self) { try CompletionClient(base: "127.0.0.1:8000", apiKey: nil) }
    }
}
