import ArborProtocol

/// One task of a task set: a prompt, its reference answer and how the answer is checked.
///
/// Per-line `verifier`, `tolerance`, `tools` and `system_prompt` override the task set's; other
/// fields of the line are kept verbatim in `rawJSON` for verifiers and backends that want them.
public struct TaskRecord: Sendable, Equatable, Hashable {
    /// Unique within the job.
    public var id: String
    /// The task type (its task set's `type`).
    public var type: String
    /// The user turn shown to the model.
    public var prompt: String
    /// The reference answer (a number or text, or Python tests for `python_tests`).
    public var answer: String
    /// How the final answer is checked.
    public var verifier: VerifierKind
    /// Relative tolerance of the `numeric` verifier.
    public var tolerance: Double
    /// Tools offered to the model, by registry name.
    public var tools: [String]
    /// System prompt; `nil` = the job's.
    public var systemPrompt: String?
    /// The dataset line as it was read.
    public var rawJSON: String
    /// `file:line` of the dataset line, for messages.
    public var location: String

    /// A task with every field given.
    public init(
        id: String, type: String, prompt: String, answer: String, verifier: VerifierKind, tolerance: Double,
        tools: [String], systemPrompt: String?, rawJSON: String, location: String
    ) {
        self.id = id
        self.type = type
        self.prompt = prompt
        self.answer = answer
        self.verifier = verifier
        self.tolerance = tolerance
        self.tools = tools
        self.systemPrompt = systemPrompt
        self.rawJSON = rawJSON
        self.location = location
    }
}

extension TaskRecord {
    /// Reads one dataset line; `settings` gives the defaults and `location` names the line.
    ///
    /// Throws `CoordinatorError.invalidDataset` as `file:line: field "name": problem`.
    init(line: String, location: String, settings: TaskSetSettings) throws {
        func fail(_ field: String?, _ problem: String) -> CoordinatorError {
            CoordinatorError(.invalidDataset, "\(location): " + (field.map { "field \"\($0)\": " } ?? "") + problem)
        }
        let value: JSONValue
        do {
            value = try JSONValue.parse(line)
        } catch {
            throw fail(nil, "not valid JSON; each line must be one object {\"id\", \"prompt\", \"answer\", …}")
        }
        guard case .object(let fields) = value else { throw fail(nil, "must be a JSON object, got \(value.typeName)") }

        func text(_ name: String, required: Bool) throws -> String? {
            guard let field = fields[name], field != .null else {
                if required { throw fail(name, "missing") }
                return nil
            }
            guard let text = field.scalarText else {
                throw fail(name, "must be a string or number, got \(field.typeName)")
            }
            if required, text.isEmpty { throw fail(name, "must not be empty") }
            return text
        }

        let id = try text("id", required: true) ?? ""
        let prompt = try text("prompt", required: true) ?? ""
        let answer = try text("answer", required: true) ?? ""
        var verifier = settings.verifier
        if let name = try text("verifier", required: false) {
            guard let kind = VerifierKind(rawValue: name) else {
                let names = VerifierKind.allCases.map(\.rawValue).joined(separator: ", ")
                throw fail("verifier", "must be one of \(names), got '\(name)'")
            }
            verifier = kind
        }
        var tolerance = settings.tolerance
        if let field = fields["tolerance"], field != .null {
            guard let number = field.numberValue, number >= 0 else {
                throw fail("tolerance", "must be a number ≥ 0")
            }
            tolerance = number
        }
        var tools = settings.tools
        if let field = fields["tools"], field != .null {
            guard case .array(let items) = field else { throw fail("tools", "must be a list of tool names") }
            tools = try items.map { item in
                guard case .string(let name) = item, !name.isEmpty else {
                    throw fail("tools", "must be a list of tool names")
                }
                return name
            }
        }
        self.init(
            id: id, type: settings.type, prompt: prompt, answer: answer, verifier: verifier, tolerance: tolerance,
            tools: tools, systemPrompt: try text("system_prompt", required: false) ?? settings.systemPrompt,
            rawJSON: line, location: location)
    }
}

extension JSONValue {
    /// Strings as they are; numbers and booleans as their JSON text; nil for anything else (a
    /// dataset's `answer` may be written as a number).
    fileprivate var scalarText: String? {
        switch self {
        case .string(let value): value
        case .int(let value): String(value)
        case .double(let value): value.rounded() == value && abs(value) < 1e15 ? String(Int(value)) : "\(value)"
        case .bool(let value): value ? "true" : "false"
        default: nil
        }
    }
}
