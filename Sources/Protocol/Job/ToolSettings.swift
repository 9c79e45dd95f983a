/// The `tools:` section of job.yaml: which tools exist for the job and how they are limited.
///
/// It lives in ArborProtocol because both sides need it: the coordinator validates it when it
/// loads the job, and workers receive the job as run (`RegisterAck`) and build their tool
/// registry from it. Keys are snake_case in YAML; every field has a default so `tools: {}` works.
/// Decoding rejects unknown keys with a `DecodingError` whose message names the full key path
/// (`unknown key 'tools.python.timeout'`), so a typo never silently falls back to a default.
public struct ToolSettings: Codable, Sendable, Equatable {
    /// PruneTIR: after this many consecutive failed calls of one tool in one trajectory the tool is
    /// suspended for that trajectory and the model is told so. 0 = off (the default).
    public var suspendAfterFailures: Int = 0
    /// Tools offered to the model, by name; empty = every configured tool. MCP tools are named
    /// as their server lists them.
    public var enabled: [String] = []
    /// The sandboxed `python` tool.
    public var python = PythonToolSettings()
    /// The exact-arithmetic `calculator` tool.
    public var calculator = CalculatorToolSettings()
    /// The BM25 `search` tool; offered only when `corpus` is set.
    public var search = SearchToolSettings()
    /// Tools served by MCP servers over stdio; each server's tools join the registry.
    public var mcpServers: [MCPServerSettings] = []

    /// The defaults: python, calculator, no search corpus, no MCP servers, PruneTIR off.
    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case suspendAfterFailures = "suspend_after_failures"
        case enabled, python, calculator, search
        case mcpServers = "mcp_servers"
    }

    /// Decodes with defaults for missing keys; throws `DecodingError.dataCorrupted` naming the key
    /// path of an unknown key or a value out of range.
    public init(from decoder: any Decoder) throws {
        try rejectUnknownKeys(decoder, known: CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        suspendAfterFailures = try c.decodeIfPresent(Int.self, forKey: .suspendAfterFailures) ?? 0
        enabled = try c.decodeIfPresent([String].self, forKey: .enabled) ?? []
        python = try c.decodeIfPresent(PythonToolSettings.self, forKey: .python) ?? PythonToolSettings()
        calculator = try c.decodeIfPresent(CalculatorToolSettings.self, forKey: .calculator) ?? .init()
        search = try c.decodeIfPresent(SearchToolSettings.self, forKey: .search) ?? SearchToolSettings()
        mcpServers = try c.decodeIfPresent([MCPServerSettings].self, forKey: .mcpServers) ?? []
        try requireAtLeast(0, suspendAfterFailures, decoder, CodingKeys.suspendAfterFailures)
    }
}

/// Limits of the sandboxed `python` tool.
public struct PythonToolSettings: Codable, Sendable, Equatable {
    /// Wall-clock limit of one call, in seconds; the whole process group is killed past it.
    public var timeoutSeconds: Double = 10
    /// Calls of this tool running at once on one worker.
    public var concurrency: Int = 4
    /// RLIMIT_CPU, seconds.
    public var cpuSeconds: Int = 5
    /// RLIMIT_AS, MiB.
    public var memoryMB: Int = 512
    /// RLIMIT_NPROC.
    public var maxProcesses: Int = 32
    /// RLIMIT_FSIZE, MiB.
    public var maxFileMB: Int = 16
    /// stdout + stderr kept per call; the rest is cut with a truncation marker.
    public var maxOutputBytes: Int = 16_384
    /// Sandboxes spawned ahead of demand.
    public var warmPool: Int = 2
    /// Sandboxes started per second on one worker, warm or cold, after a burst of
    /// `max(warm_pool, spawn_rate)`: a cap on process creation however many branches call at once.
    public var spawnRate: Double = 32
    /// The interpreter run inside the sandbox. An absolute path outside /usr has its install
    /// prefix (the folder above `bin/`) bound read-only into the sandbox.
    public var interpreter: String = "/usr/bin/python3"
    /// Run without bubblewrap when `bwrap` is missing. Off by default: model-written code then
    /// runs with the worker's own rights.
    public var allowUnsandboxed: Bool = false

    /// The defaults listed on each field.
    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case timeoutSeconds = "timeout_s"
        case concurrency
        case cpuSeconds = "cpu_seconds"
        case memoryMB = "memory_mb"
        case maxProcesses = "max_processes"
        case maxFileMB = "max_file_mb"
        case maxOutputBytes = "max_output_bytes"
        case warmPool = "warm_pool"
        case spawnRate = "spawn_rate"
        case interpreter
        case allowUnsandboxed = "allow_unsandboxed"
    }

    /// Decodes with defaults for missing keys; rejects unknown keys and non-positive limits.
    public init(from decoder: any Decoder) throws {
        try rejectUnknownKeys(decoder, known: CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = PythonToolSettings()
        timeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .timeoutSeconds) ?? d.timeoutSeconds
        concurrency = try c.decodeIfPresent(Int.self, forKey: .concurrency) ?? d.concurrency
        cpuSeconds = try c.decodeIfPresent(Int.self, forKey: .cpuSeconds) ?? d.cpuSeconds
        memoryMB = try c.decodeIfPresent(Int.self, forKey: .memoryMB) ?? d.memoryMB
        maxProcesses = try c.decodeIfPresent(Int.self, forKey: .maxProcesses) ?? d.maxProcesses
        maxFileMB = try c.decodeIfPresent(Int.self, forKey: .maxFileMB) ?? d.maxFileMB
        maxOutputBytes = try c.decodeIfPresent(Int.self, forKey: .maxOutputBytes) ?? d.maxOutputBytes
        warmPool = try c.decodeIfPresent(Int.self, forKey: .warmPool) ?? d.warmPool
        spawnRate = try c.decodeIfPresent(Double.self, forKey: .spawnRate) ?? d.spawnRate
        interpreter = try c.decodeIfPresent(String.self, forKey: .interpreter) ?? d.interpreter
        allowUnsandboxed = try c.decodeIfPresent(Bool.self, forKey: .allowUnsandboxed) ?? d.allowUnsandboxed
        try requirePositive(timeoutSeconds, decoder, CodingKeys.timeoutSeconds)
        try requireAtLeast(1, concurrency, decoder, CodingKeys.concurrency)
        try requireAtLeast(1, cpuSeconds, decoder, CodingKeys.cpuSeconds)
        try requireAtLeast(16, memoryMB, decoder, CodingKeys.memoryMB)
        try requireAtLeast(1, maxProcesses, decoder, CodingKeys.maxProcesses)
        try requireAtLeast(1, maxFileMB, decoder, CodingKeys.maxFileMB)
        try requireAtLeast(64, maxOutputBytes, decoder, CodingKeys.maxOutputBytes)
        try requireAtLeast(0, warmPool, decoder, CodingKeys.warmPool)
        try requirePositive(spawnRate, decoder, CodingKeys.spawnRate)
    }
}

/// Settings of the exact-arithmetic `calculator` tool.
public struct CalculatorToolSettings: Codable, Sendable, Equatable {
    /// Wall-clock limit of one call, in seconds.
    public var timeoutSeconds: Double = 2
    /// Calls of this tool running at once on one worker.
    public var concurrency: Int = 16

    /// The defaults listed on each field.
    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case timeoutSeconds = "timeout_s"
        case concurrency
    }

    /// Decodes with defaults for missing keys; rejects unknown keys and non-positive limits.
    public init(from decoder: any Decoder) throws {
        try rejectUnknownKeys(decoder, known: CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        timeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .timeoutSeconds) ?? 2
        concurrency = try c.decodeIfPresent(Int.self, forKey: .concurrency) ?? 16
        try requirePositive(timeoutSeconds, decoder, CodingKeys.timeoutSeconds)
        try requireAtLeast(1, concurrency, decoder, CodingKeys.concurrency)
    }
}

/// Settings of the BM25 `search` tool over a local corpus directory.
public struct SearchToolSettings: Codable, Sendable, Equatable {
    /// A directory of text files (one passage per paragraph), or a JSONL file of
    /// `{"id", "title", "text"}`. Relative paths resolve against the job file's directory.
    public var corpus: String? = nil
    /// Passages returned per query unless the call asks for fewer.
    public var topK: Int = 3
    /// Wall-clock limit of one call, in seconds.
    public var timeoutSeconds: Double = 2
    /// Calls of this tool running at once on one worker.
    public var concurrency: Int = 16

    /// The defaults listed on each field (no corpus: the tool is not offered).
    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case corpus
        case topK = "top_k"
        case timeoutSeconds = "timeout_s"
        case concurrency
    }

    /// Decodes with defaults for missing keys; rejects unknown keys and non-positive limits.
    public init(from decoder: any Decoder) throws {
        try rejectUnknownKeys(decoder, known: CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        corpus = try c.decodeIfPresent(String.self, forKey: .corpus)
        topK = try c.decodeIfPresent(Int.self, forKey: .topK) ?? 3
        timeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .timeoutSeconds) ?? 2
        concurrency = try c.decodeIfPresent(Int.self, forKey: .concurrency) ?? 16
        try requireAtLeast(1, topK, decoder, CodingKeys.topK)
        try requirePositive(timeoutSeconds, decoder, CodingKeys.timeoutSeconds)
        try requireAtLeast(1, concurrency, decoder, CodingKeys.concurrency)
    }
}

/// One MCP server started over stdio; its tools appear in the registry under their own names.
public struct MCPServerSettings: Codable, Sendable, Equatable {
    /// A label for logs and errors.
    public var name: String
    /// argv of the server process.
    public var command: [String]
    /// Extra environment variables of the server process.
    public var env: [String: String] = [:]
    /// Wall-clock limit of one call (and of the start handshake), in seconds.
    public var timeoutSeconds: Double = 10
    /// Calls to this server running at once on one worker.
    public var concurrency: Int = 4

    /// A server with default limits.
    public init(name: String, command: [String]) {
        self.name = name
        self.command = command
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, command, env
        case timeoutSeconds = "timeout_s"
        case concurrency
    }

    /// Decodes `name` and `command` (required) and the rest with defaults; rejects unknown keys.
    public init(from decoder: any Decoder) throws {
        try rejectUnknownKeys(decoder, known: CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        command = try c.decode([String].self, forKey: .command)
        env = try c.decodeIfPresent([String: String].self, forKey: .env) ?? [:]
        timeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .timeoutSeconds) ?? 10
        concurrency = try c.decodeIfPresent(Int.self, forKey: .concurrency) ?? 4
        if command.isEmpty {
            throw settingsError(decoder, CodingKeys.command, "must name the server program")
        }
        try requirePositive(timeoutSeconds, decoder, CodingKeys.timeoutSeconds)
        try requireAtLeast(1, concurrency, decoder, CodingKeys.concurrency)
    }
}

// MARK: - Strict decoding

/// A key read from the document, whatever it is.
private struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// The dotted path of `key` under the decoder's position: `tools.python.timeout`.
private func keyPath(_ decoder: any Decoder, _ key: String) -> String {
    var path = ""
    for component in decoder.codingPath {
        if let index = component.intValue {
            path += "[\(index)]"
        } else {
            path += path.isEmpty ? component.stringValue : "." + component.stringValue
        }
    }
    path += path.isEmpty ? key : "." + key
    return path
}

private func settingsError(_ decoder: any Decoder, _ key: some CodingKey, _ problem: String) -> DecodingError {
    DecodingError.dataCorrupted(.init(
        codingPath: decoder.codingPath + [key],
        debugDescription: "'\(keyPath(decoder, key.stringValue))' \(problem)"))
}

/// Throws when the mapping at the decoder's position holds a key not in `known`.
private func rejectUnknownKeys(_ decoder: any Decoder, known: [String]) throws {
    let container = try decoder.container(keyedBy: AnyKey.self)
    for key in container.allKeys where !known.contains(key.stringValue) {
        throw DecodingError.dataCorrupted(.init(
            codingPath: decoder.codingPath + [key],
            debugDescription: "unknown key '\(keyPath(decoder, key.stringValue))'; known keys here: "
                + known.sorted().joined(separator: ", ")))
    }
}

private func requireAtLeast(_ minimum: Int, _ value: Int, _ decoder: any Decoder, _ key: some CodingKey) throws {
    if value < minimum { throw settingsError(decoder, key, "is \(value); it must be at least \(minimum)") }
}

private func requirePositive(_ value: Double, _ decoder: any Decoder, _ key: some CodingKey) throws {
    if !(value > 0) || !value.isFinite {
        throw settingsError(decoder, key, "is \(value); it must be a positive number of seconds")
    }
}
