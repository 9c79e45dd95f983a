/// How a task's final answer is checked against its reference answer.
public enum VerifierKind: String, Codable, Sendable, CaseIterable {
    /// Normalised exact match (case, surrounding space and punctuation ignored).
    case exact
    /// Numbers equal within the relative `tolerance`.
    case numeric
    /// The reference answer occurs in the final answer (normalised).
    case contains
    /// The answer is code; the reference is Python unit tests run in the sandbox.
    case pythonTests = "python_tests"
}

/// One entry of `task_sets:` in job.yaml: a JSONL file holding the tasks of one task type.
public struct TaskSetSettings: Codable, Sendable, Equatable {
    /// The task type (e.g. `math`); unique within the job; keys `batch.weights`.
    public var type: String
    /// JSONL file, one task per line; resolved against the job file's directory.
    public var path: String
    /// Verifier of this set's tasks unless a task line names its own.
    public var verifier: VerifierKind = .exact
    /// Relative tolerance of the `numeric` verifier unless a task line names its own.
    public var tolerance: Double = 1e-6
    /// Tools offered to this set's tasks, by registry name (e.g. `calculator`, `search`).
    public var tools: [String] = []
    /// Replaces the job's `system_prompt` for this set's tasks.
    public var systemPrompt: String?

    /// A task set of `type` read from `path`, with the defaults above.
    public init(type: String, path: String) {
        self.type = type
        self.path = path
    }

    enum CodingKeys: String, CodingKey {
        case type, path, verifier, tolerance, tools
        case systemPrompt = "system_prompt"
    }
}

extension TaskSetSettings {
    init(reading map: JobYAMLMap) throws {
        let type = try map.requiredString("type")
        self.init(type: type, path: map.source.resolve(try map.requiredString("path")))
        verifier = try map.choice("verifier", default: verifier)
        tolerance = try map.double("tolerance", default: tolerance, Bounds.atLeast(0))
        tools = try map.stringList("tools")
        systemPrompt = try map.optionalString("system_prompt")
        try map.rejectUnknownKeys()
    }
}
