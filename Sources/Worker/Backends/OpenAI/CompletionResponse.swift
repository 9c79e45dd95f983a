import Foundation

/// The parts of an OpenAI-compatible `/v1/completions` reply that a rollout step uses, and their
/// reading into token ids, log-probs and entropies.
///
/// What servers return (checked against llama-cpp-python 0.3.36; vLLM and SGLang per their docs):
/// - `logprobs.tokens`: one entry per generated token. vLLM and SGLang, asked with
///   `return_tokens_as_token_ids`, write `"token_id:123"`; llama-cpp-python ignores that field
///   and writes each token's own bytes decoded as UTF-8 with invalid bytes dropped (so a token
///   holding half a character reads `""`), and skips BOS tokens (`<|im_start|>` for SmolLM2).
/// - `logprobs.token_logprobs`: log p of each generated token. Servers compute it from the raw
///   logits (temperature 1: llama-cpp-python always, vLLM by default), which is what the builtin
///   engine records for greedy decoding and for temperature 1; at other temperatures it differs
///   from the builtin's tempered log-prob.
/// - `logprobs.top_logprobs`: the `k` most likely tokens at each position (keys as in `tokens`).
/// - The end-of-generation token: vLLM includes it in the tokens; llama-cpp-python stops before
///   it and leaves it out (`finish_reason` "stop" with no stop string in the text).
/// - A stop string: llama-cpp-python cuts `text` before it but keeps the tokens that produced it;
///   vLLM keeps it in `text` when asked with `include_stop_str_in_output`.
struct CompletionResponse: Decodable, Sendable, Equatable {
    struct Choice: Decodable, Sendable, Equatable {
        var text: String
        var finishReason: String?
        var logprobs: Logprobs?

        enum CodingKeys: String, CodingKey {
            case text
            case finishReason = "finish_reason"
            case logprobs
        }
    }

    struct Logprobs: Decodable, Sendable, Equatable {
        var tokens: [String]
        var tokenLogprobs: [Double?]
        var topLogprobs: [[String: Double]?]?

        enum CodingKeys: String, CodingKey {
            case tokens
            case tokenLogprobs = "token_logprobs"
            case topLogprobs = "top_logprobs"
        }
    }

    struct Usage: Decodable, Sendable, Equatable {
        var completionTokens: Int?

        enum CodingKeys: String, CodingKey {
            case completionTokens = "completion_tokens"
        }
    }

    var choices: [Choice]
    var usage: Usage?

    /// Decodes a reply body. Throws `WorkerError(.backend)` naming `server` and what is wrong.
    static func decode(_ data: Data, server: String) throws -> CompletionResponse {
        let response: CompletionResponse
        do {
            response = try JSONDecoder().decode(CompletionResponse.self, from: data)
        } catch {
            let start = String(decoding: data.prefix(200), as: UTF8.self)
            throw WorkerError(.backend, "\(server) answered with JSON that is not a completion: \(start)", cause: error)
        }
        guard response.choices.count == 1 else {
            throw WorkerError(.backend, "\(server) answered with \(response.choices.count) choices; one was asked for")
        }
        return response
    }

    /// Entropy in nats of the renormalised top-k distribution of one position.
    ///
    /// An approximation: the server gives only the `k` most likely tokens, so this is the entropy
    /// of those `k` probabilities scaled to sum to 1 — a lower bound-like estimate that is close
    /// when the top-k hold most of the mass and falls short of the full-vocabulary entropy the
    /// builtin engine records when they do not. Nil or empty input gives 0.
    static func topKEntropy(_ top: [String: Double]?) -> Float {
        guard let top, !top.isEmpty else { return 0 }
        let peak = top.values.max() ?? 0
        let weights = top.values.map { exp($0 - peak) }  // subtract the max before exp
        let total = weights.reduce(0, +)
        guard total > 0 else { return 0 }
        var entropy = 0.0
        for weight in weights where weight > 0 {
            let q = weight / total
            entropy -= q * log(q)
        }
        return Float(max(0, entropy))
    }

    /// The ids of `tokens` when every entry is `"token_id:N"` (vLLM, SGLang); nil otherwise.
    static func explicitIDs(_ tokens: [String]) -> [Int]? {
        var ids: [Int] = []
        ids.reserveCapacity(tokens.count)
        for token in tokens {
            guard token.hasPrefix("token_id:"), let id = Int(token.dropFirst("token_id:".count)) else { return nil }
            ids.append(id)
        }
        return ids
    }
}
