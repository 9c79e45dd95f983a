import Foundation

/// The JSON body of one `POST /v1/completions` for a rollout step. Thread-safe (a value).
///
/// Besides the OpenAI fields it sets the extensions that make the answer exact where a server
/// knows them, and that the others ignore: `return_tokens_as_token_ids` (vLLM, SGLang: tokens
/// come back as `"token_id:N"`), `stop_token_ids` (the turn's end ids), and
/// `include_stop_str_in_output`; and it switches off llama-cpp-python's defaults that would
/// change the distribution (`repeat_penalty` 1.1, `min_p` 0.05) so that the sampled tokens and
/// their log-probs are the policy's own.
struct CompletionRequest: Encodable, Sendable {
    /// Token ids (vLLM, SGLang, llama-server) or text (llama-cpp-python).
    enum Prompt: Sendable, Equatable {
        case ids([Int])
        case text(String)
    }

    var model: String?
    var prompt: Prompt
    var maxTokens: Int
    var temperature: Float
    var topP: Float
    var topK: Int
    var seed: UInt32
    var logprobs: Int
    var stop: [String]
    var stopTokenIDs: [Int]

    enum CodingKeys: String, CodingKey {
        case model, prompt, temperature, seed, logprobs, stop, n, stream
        case maxTokens = "max_tokens"
        case topP = "top_p"
        case topK = "top_k"
        case minP = "min_p"
        case repeatPenalty = "repeat_penalty"
        case repetitionPenalty = "repetition_penalty"
        case stopTokenIDs = "stop_token_ids"
        case returnTokensAsTokenIDs = "return_tokens_as_token_ids"
        case includeStopString = "include_stop_str_in_output"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(model, forKey: .model)
        switch prompt {
        case .ids(let ids): try container.encode(ids, forKey: .prompt)
        case .text(let text): try container.encode(text, forKey: .prompt)
        }
        try container.encode(maxTokens, forKey: .maxTokens)
        try container.encode(temperature, forKey: .temperature)
        try container.encode(topP, forKey: .topP)
        try container.encode(max(0, topK), forKey: .topK)  // 0 = off (llama.cpp, vLLM)
        try container.encode(0, forKey: .minP)
        try container.encode(1, forKey: .repeatPenalty)
        try container.encode(1, forKey: .repetitionPenalty)
        try container.encode(seed, forKey: .seed)
        try container.encode(logprobs, forKey: .logprobs)
        try container.encode(stop, forKey: .stop)
        try container.encode(stopTokenIDs, forKey: .stopTokenIDs)
        try container.encode(true, forKey: .returnTokensAsTokenIDs)
        try container.encode(true, forKey: .includeStopString)
        try container.encode(1, forKey: .n)
        try container.encode(false, forKey: .stream)
    }

    /// The JSON body.
    func encoded() throws -> Data {
        do {
            return try JSONEncoder().encode(self)
        } catch {
            throw WorkerError(.backend, "could not encode a completion request", cause: error)
        }
    }
}
