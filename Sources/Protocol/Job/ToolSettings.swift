/// The `tools:` section of job.yaml: which tools exist for the job and how they are limited.
///
/// It lives in ArborProtocol because both sides need it: the coordinator validates it when it
/// loads the job, and workers receive the job as run (`RegisterAck`) and build their tool
/// registry from it. Keys are snake_case in YAML; every field has a default so `tools: {}` works.
public struct ToolSettings: Codable, Sendable, Equatable {
    /// PruneTIR: after this many consecutive failed calls of one tool in one trajectory the tool is
    /// suspended for that trajectory and the model is told so. 0 = off (the default).
    public var suspendAfterFailures: Int = 0
    public var python = PythonToolSettings()
    public var calculator = CalculatorToolSettings()
    public var search = SearchToolSettings()
    /// Tools served by MCP servers over stdio; each server's tools join the registry.
    public var mcpServers: [MCPServerSettings] = []

    public init() {}

    enum CodingKeys: String, CodingKey {
        case suspendAfterFailures = "suspend_after_failures"
        case python, calculator, search
        case mcpServers = "mcp_servers"
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
    /// Run without bubblewrap when `bwrap` is missing. Off by default: model-written code then
    /// runs with the worker's own rights.
    public var allowUnsandboxed: Bool = false

    public init() {}

    enum CodingKeys: String, CodingKey {
        case timeoutSeconds = "timeout_s"
        case concurrency
        case cpuSeconds = "cpu_seconds"
        case memoryMB = "memory_mb"
        case maxProcesses = "max_processes"
        case maxFileMB = "max_file_mb"
        case maxOutputBytes = "max_output_bytes"
        case warmPool = "warm_pool"
        case allowUnsandboxed = "allow_unsandboxed"
    }
}

/// Settings of the exact-arithmetic `calculator` tool.
public struct CalculatorToolSettings: Codable, Sendable, Equatable {
    public var timeoutSeconds: Double = 2
    public var concurrency: Int = 16

    public init() {}

    enum CodingKeys: String, CodingKey {
        case timeoutSeconds = "timeout_s"
        case concurrency
    }
}

/// Settings of the BM25 `search` tool over a local corpus directory.
public struct SearchToolSettings: Codable, Sendable, Equatable {
    /// A directory of text files (one passage per paragraph), or a JSONL file of
    /// `{"id", "title", "text"}`. Relative paths resolve against the job file's directory.
    public var corpus: String? = nil
    public var topK: Int = 3
    public var timeoutSeconds: Double = 2
    public var concurrency: Int = 16

    public init() {}

    enum CodingKeys: String, CodingKey {
        case corpus
        case topK = "top_k"
        case timeoutSeconds = "timeout_s"
        case concurrency
    }
}

/// One MCP server started over stdio; its tools appear in the registry under their own names.
public struct MCPServerSettings: Codable, Sendable, Equatable {
    public var name: String
    /// argv of the server process.
    public var command: [String]
    public var env: [String: String] = [:]
    public var timeoutSeconds: Double = 10
    public var concurrency: Int = 4

    public init(name: String, command: [String]) {
        self.name = name
        self.command = command
    }

    enum CodingKeys: String, CodingKey {
        case name, command, env
        case timeoutSeconds = "timeout_s"
        case concurrency
    }
}
