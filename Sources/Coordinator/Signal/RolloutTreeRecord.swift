import Foundation

/// A rollout tree in the tree JSON form (docs/learning-signal.md): what `run_dir/trees/` holds
/// and what `arbor advantages` reads, one tree per line.
///
/// `{"task_id", "task_type", "nodes": [{"id", "parent", "format", "tool_calls", "model_tokens",
/// "entropy_sum", "outcome"?}]}`. Node 0 (parent null) is the prompt; every other node is a step;
/// leaves carry `outcome` ∈ {+1, 0, −1}. Training rows need the optional token fields too:
/// `token_ids` (sampled tokens; the prompt's ids at the root), `logprobs` (one per sampled token),
/// `context_ids` (tokens appended after the step that the model did not sample: tool responses),
/// and `policy_version` (per tree or per node). What people read — `text`, `answer`, `calls`
/// (name, arguments, ok, output, error) and `checks` (name, passed, detail) — is optional too
/// and ignored by the signal (docs/trees.schema.json describes the viewer's form). Missing step
/// fields default to format 1 and zero counts. Structure is checked by `TreeIndex`, not here.
public struct RolloutTreeRecord: Codable, Sendable, Equatable {
    /// One node: the prompt (root) or one step (an assistant turn plus what followed it).
    public struct Node: Codable, Sendable, Equatable {
        /// Unique within the tree.
        public var id: Int
        /// The parent's id; `nil` for the root only.
        public var parent: Int?
        /// Fraction of the step's format checks passed, in [0, 1].
        public var format: Double
        /// Tool calls the step made.
        public var toolCalls: Int
        /// Tokens the model sampled in the step.
        public var modelTokens: Int
        /// Sum of the full-vocabulary entropies (nats) of the step's sampled tokens.
        public var entropySum: Double
        /// Leaves only: +1 correct, 0 abstained, −1 wrong or no answer.
        public var outcome: Int?
        /// Sampled token ids (the prompt's ids at the root).
        public var tokenIDs: [Int]?
        /// Log-probability of each sampled token.
        public var logprobs: [Double]?
        /// Non-sampled tokens after the step (tool responses, the next turn's header).
        public var contextIDs: [Int]?
        /// Policy version the step was sampled with.
        public var policyVersion: UInt64?
        /// The step's text as the worker decoded it (for people; the signal never reads it).
        public var text: String?
        /// Leaves only: the final answer the verifier judged.
        public var answer: String?
        /// The step's tool calls with arguments and results (for people; `toolCalls` counts them).
        public var calls: [ToolCall]?
        /// The step's format checks (for people; `format` is the fraction passed).
        public var checks: [FormatCheck]?

        /// A node with the given fields; token data empty.
        public init(
            id: Int, parent: Int?, format: Double = 1, toolCalls: Int = 0, modelTokens: Int = 0,
            entropySum: Double = 0, outcome: Int? = nil
        ) {
            self.id = id
            self.parent = parent
            self.format = format
            self.toolCalls = toolCalls
            self.modelTokens = modelTokens
            self.entropySum = entropySum
            self.outcome = outcome
        }

        enum CodingKeys: String, CodingKey {
            case id, parent, format
            case toolCalls = "tool_calls"
            case modelTokens = "model_tokens"
            case entropySum = "entropy_sum"
            case outcome
            case tokenIDs = "token_ids"
            case logprobs
            case contextIDs = "context_ids"
            case policyVersion = "policy_version"
            case text, answer, calls, checks
        }

        /// Reads a node; only `id` is required (and `parent`, which may be null).
        public init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            id = try container.decode(Int.self, forKey: .id)
            parent = try container.decodeIfPresent(Int.self, forKey: .parent)
            format = try container.decodeIfPresent(Double.self, forKey: .format) ?? 1
            toolCalls = try container.decodeIfPresent(Int.self, forKey: .toolCalls) ?? 0
            modelTokens = try container.decodeIfPresent(Int.self, forKey: .modelTokens) ?? 0
            entropySum = try container.decodeIfPresent(Double.self, forKey: .entropySum) ?? 0
            outcome = try container.decodeIfPresent(Int.self, forKey: .outcome)
            tokenIDs = try container.decodeIfPresent([Int].self, forKey: .tokenIDs)
            logprobs = try container.decodeIfPresent([Double].self, forKey: .logprobs)
            contextIDs = try container.decodeIfPresent([Int].self, forKey: .contextIDs)
            policyVersion = try container.decodeIfPresent(UInt64.self, forKey: .policyVersion)
            text = try container.decodeIfPresent(String.self, forKey: .text)
            answer = try container.decodeIfPresent(String.self, forKey: .answer)
            calls = try container.decodeIfPresent([ToolCall].self, forKey: .calls)
            checks = try container.decodeIfPresent([FormatCheck].self, forKey: .checks)
        }

        var json: OrderedJSON {
            var fields: [(String, OrderedJSON)] = [("id", .integer(id)), ("parent", parent.map(OrderedJSON.integer) ?? .null)]
            if parent != nil {
                fields += [
                    ("format", .number(format)), ("tool_calls", .integer(toolCalls)),
                    ("model_tokens", .integer(modelTokens)), ("entropy_sum", .number(entropySum)),
                ]
            }
            if let outcome { fields.append(("outcome", .integer(outcome))) }
            if let tokenIDs { fields.append(("token_ids", .integers(tokenIDs))) }
            if let logprobs { fields.append(("logprobs", .numbers(logprobs))) }
            if let contextIDs { fields.append(("context_ids", .integers(contextIDs))) }
            if let policyVersion { fields.append(("policy_version", .unsigned(policyVersion))) }
            if let text { fields.append(("text", .string(text))) }
            if let answer { fields.append(("answer", .string(answer))) }
            if let calls { fields.append(("calls", .array(calls.map(\.json)))) }
            if let checks { fields.append(("checks", .array(checks.map(\.json)))) }
            return .object(fields)
        }

        /// Writes the node; `parent: null` is spelled out at the root, absent token data is omitted.
        public func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(id, forKey: .id)
            try container.encode(parent, forKey: .parent)
            if parent != nil {
                try container.encode(format, forKey: .format)
                try container.encode(toolCalls, forKey: .toolCalls)
                try container.encode(modelTokens, forKey: .modelTokens)
                try container.encode(entropySum, forKey: .entropySum)
            }
            try container.encodeIfPresent(outcome, forKey: .outcome)
            try container.encodeIfPresent(tokenIDs, forKey: .tokenIDs)
            try container.encodeIfPresent(logprobs, forKey: .logprobs)
            try container.encodeIfPresent(contextIDs, forKey: .contextIDs)
            try container.encodeIfPresent(policyVersion, forKey: .policyVersion)
            try container.encodeIfPresent(text, forKey: .text)
            try container.encodeIfPresent(answer, forKey: .answer)
            try container.encodeIfPresent(calls, forKey: .calls)
            try container.encodeIfPresent(checks, forKey: .checks)
        }
    }

    /// The task the tree answers.
    public var taskID: String
    /// Its task type (the normalisation group of `task_batch`).
    public var taskType: String
    /// Policy version of the whole tree, when nodes do not carry their own.
    public var policyVersion: UInt64?
    /// The nodes, root included, in any order.
    public var nodes: [Node]

    /// A tree of `nodes`.
    public init(taskID: String, taskType: String, policyVersion: UInt64? = nil, nodes: [Node]) {
        self.taskID = taskID
        self.taskType = taskType
        self.policyVersion = policyVersion
        self.nodes = nodes
    }

    enum CodingKeys: String, CodingKey {
        case taskID = "task_id"
        case taskType = "task_type"
        case policyVersion = "policy_version"
        case nodes
    }

    /// Reads trees, one per line (blank lines skipped), each checked against the contract
    /// (`TreeIndex`); `file` names errors.
    ///
    /// Throws `CoordinatorError.invalidTree` as `file:line: problem`.
    public static func readJSONL(_ text: String, file: String) throws -> [RolloutTreeRecord] {
        var trees: [RolloutTreeRecord] = []
        let decoder = JSONDecoder()
        for (offset, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            do {
                let tree = try decoder.decode(RolloutTreeRecord.self, from: Data(line.utf8))
                _ = try TreeIndex(tree)
                trees.append(tree)
            } catch let error as DecodingError {
                throw CoordinatorError(.invalidTree, "\(file):\(offset + 1): \(Self.describe(error))")
            } catch let error as CoordinatorError {
                throw CoordinatorError(.invalidTree, "\(file):\(offset + 1): \(error.message)")
            }
        }
        return trees
    }

    /// One JSON line of the tree (no trailing newline), keys in the documented order: what
    /// `run_dir/trees/` holds and `readJSONL` reads back.
    public func jsonLine() -> String {
        var fields: [(String, OrderedJSON)] = [("task_id", .string(taskID)), ("task_type", .string(taskType))]
        if let policyVersion { fields.append(("policy_version", .unsigned(policyVersion))) }
        fields.append(("nodes", .array(nodes.map(\.json))))
        return OrderedJSON.object(fields).text
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
                .trimmingCharacters(in: CharacterSet(charactersIn: "."))
        }
        switch error {
        case .keyNotFound(let key, let context):
            let parent = path(context)
            return "field \"\(parent.isEmpty ? "" : parent + ".")\(key.stringValue)\": missing"
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
            return "field \"\(path(context))\": must be \(type)"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "not valid JSON" : "field \"\(path(context))\": \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}
