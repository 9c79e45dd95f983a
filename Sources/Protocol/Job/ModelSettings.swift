/// The `model:` section of job.yaml: which policy backend workers serve, and where its weights are.
public struct ModelSettings: Codable, Sendable, Equatable {
    /// How workers produce tokens.
    public enum Backend: String, Codable, Sendable, CaseIterable {
        /// The built-in engine over a GGUF file (`path`).
        case builtin
        /// Load-testing backend: deterministic synthetic trajectories with tool calls and a
        /// configurable latency (`workers.scripted_step_latency_ms`); needs no model.
        case scripted
        /// A remote OpenAI-compatible completions server (`endpoint`), e.g. vLLM or SGLang.
        case openai
    }

    /// The backend; `builtin` by default.
    public var backend: Backend = .builtin
    /// GGUF file of the built-in engine; resolved against the job file's directory.
    public var path: String?
    /// Base URL of the OpenAI-compatible server (`openai` only), e.g. `http://127.0.0.1:8000/v1`.
    public var endpoint: String?
    /// Model name sent to the server (`openai` only); defaults to the server's first model.
    public var servedName: String?
    /// Environment variable holding the server's API key (`openai` only); never the key itself.
    public var apiKeyEnv: String?
    /// Tokens of context one trajectory may use (prompt, steps and tool responses together).
    public var contextLength: Int = 2048
    /// Compute threads of the built-in engine per worker; 0 = one per core.
    public var threads: Int = 0

    /// The defaults above.
    public init() {}

    enum CodingKeys: String, CodingKey {
        case backend, path, endpoint
        case servedName = "served_name"
        case apiKeyEnv = "api_key_env"
        case contextLength = "context_length"
        case threads
    }
}

extension ModelSettings {
    init(reading map: JobYAMLMap?, requirement: JobConfig.Requirement) throws {
        self.init()
        guard let map else { return }
        backend = try map.choice("backend", default: backend)
        path = try map.optionalString("path").map(map.source.resolve)
        endpoint = try map.optionalString("endpoint")
        servedName = try map.optionalString("served_name")
        apiKeyEnv = try map.optionalString("api_key_env")
        contextLength = try map.int("context_length", default: contextLength, Bounds.atLeast(16))
        threads = try map.int("threads", default: threads, Bounds.atLeast(0))
        try map.rejectUnknownKeys()
        guard requirement == .full else { return }
        if backend == .builtin, path == nil {
            throw map.error(.missingKey, "path", "is required for backend builtin (a GGUF file)")
        }
        if backend == .openai, endpoint == nil {
            throw map.error(.missingKey, "endpoint", "is required for backend openai (e.g. http://127.0.0.1:8000/v1)")
        }
    }
}
