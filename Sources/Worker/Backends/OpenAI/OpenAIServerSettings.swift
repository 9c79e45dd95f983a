/// Where the `openai` backend finds its server and how it talks to it. Thread-safe (a value).
public struct OpenAIServerSettings: Sendable, Equatable {
    /// How prompts are sent.
    public enum PromptForm: String, Sendable, CaseIterable {
        /// Token ids first; switch to text for good when the server refuses them.
        case auto
        /// Always token ids (vLLM, SGLang, llama.cpp's llama-server).
        case ids
        /// Always text, re-encoding checked (llama-cpp-python's server).
        case text
    }

    /// Base URL, e.g. `http://127.0.0.1:8000/v1`.
    public var url: String
    /// Model name sent with each request; nil = the server's first model (`GET /models`).
    public var modelName: String?
    /// Environment variable holding the API key; nil = no key.
    public var apiKeyEnv: String?
    /// URL POSTed `{"lora_name", "lora_path"}` at each policy update (vLLM's
    /// `/v1/load_lora_adapter`); nil = the server is reloaded outside Arbor.
    public var reloadURL: String?
    /// How prompts are sent.
    public var promptForm: PromptForm = .auto
    /// Top log-probs asked per token, for the entropy estimate (vLLM's default cap is 20).
    public var topLogprobs = 20
    /// Longest context the server serves, in tokens (its `--max-model-len` / `--n_ctx`).
    public var contextLength = 2048

    /// Settings for the server at `url`, everything else default.
    public init(url: String) {
        self.url = url
    }
}
