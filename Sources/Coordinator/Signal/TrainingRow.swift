/// One training row (docs/architecture.md, "Run directory"): a trajectory's token sequence as the model saw
/// it, with per-token loss mask, log-probs and advantages.
///
/// Layout: the prompt's ids (root `token_ids`, then its `context_ids`), then for each step on the
/// path its sampled `token_ids` (mask 1, their log-probs, advantage A_k + ω·F(s)) followed by its
/// `context_ids` (mask 0, log-prob 0, advantage 0). `ids`, `mask`, `logprobs` and `advantages`
/// have equal lengths.
public struct TrainingRow: Codable, Sendable, Equatable {
    /// The task.
    public var taskID: String
    /// Its task type.
    public var taskType: String
    /// The leaf's node id.
    public var leaf: Int
    /// The oldest policy version among the path's steps (or the tree's); 0 when unknown.
    public var policyVersion: UInt64
    /// Token ids, exactly what the model conditioned on.
    public var ids: [Int]
    /// 1 on sampled tokens, 0 on prompt and tool-response tokens.
    public var mask: [Int]
    /// Sampling log-prob per token (0 where mask is 0).
    public var logprobs: [Double]
    /// Advantage per token (0 where mask is 0).
    public var advantages: [Double]
    /// Loss weight (0 when AEPO masks the trajectory).
    public var weight: Double
    /// How the reward came about.
    public var reward: RewardBreakdown
    /// Masked rows only: how the rollout failed (`tool_infra_error`, `timeout`, …). Such a row
    /// has weight 0 and zero advantages: it is kept for inspection and carries no gradient.
    public var failure: String? = nil

    enum CodingKeys: String, CodingKey {
        case taskID = "task_id"
        case taskType = "task_type"
        case leaf
        case policyVersion = "policy_version"
        case ids, mask, logprobs, advantages, weight, reward, failure
    }

    /// One JSON line (no trailing newline), keys in the documented order.
    public func jsonLine() -> String {
        OrderedJSON.object([
            ("task_id", .string(taskID)), ("task_type", .string(taskType)), ("leaf", .integer(leaf)),
            ("policy_version", .unsigned(policyVersion)), ("ids", .integers(ids)), ("mask", .integers(mask)),
            ("logprobs", .numbers(logprobs)), ("advantages", .numbers(advantages)), ("weight", .number(weight)),
            ("reward", reward.json),
        ] + (failure.map { [("failure", OrderedJSON.string($0))] } ?? [])).text
    }

    /// The `policy_version` of a row written by `jsonLine()`, read without parsing the whole line
    /// (rows carry thousands of numbers; the trainer stream checks every row it serves). Only a
    /// key can contain the unescaped text `"policy_version":`, and rows have no nested key of that
    /// name, so its first occurrence is the row's. Nil when absent or not a number.
    public static func policyVersion(inJSONLine line: Substring) -> UInt64? {
        let key = #""policy_version":"#
        guard let range = line.range(of: key) else { return nil }
        let digits = line[range.upperBound...].drop { $0 == " " }.prefix { $0.isASCII && $0.isNumber }
        return UInt64(digits)
    }
}

/// The parts of a trajectory's reward, carried on its training row.
public struct RewardBreakdown: Codable, Sendable, Equatable {
    /// r_k, the trajectory reward the advantage was computed from.
    public var total: Double
    /// The leaf's outcome: +1 correct, 0 abstained, −1 wrong.
    public var outcome: Int
    /// m_k: tool calls along the path.
    public var toolCalls: Int
    /// r_tool (OTC) applied to a correct outcome; 1 when OTC is off or the outcome is not > 0.
    public var toolFactor: Double
    /// A_k, the trajectory-relative advantage.
    public var advantage: Double
    /// R(s) of each step on the path, root side first.
    public var stepRewards: [Double]
    /// F(s) of each step on the path, root side first.
    public var forkAdvantages: [Double]
    /// Mean format score of the path's steps.
    public var format: Double

    var json: OrderedJSON {
        .object([
            ("total", .number(total)), ("outcome", .integer(outcome)), ("tool_calls", .integer(toolCalls)),
            ("tool_factor", .number(toolFactor)), ("advantage", .number(advantage)),
            ("step_rewards", .numbers(stepRewards)), ("fork_advantages", .numbers(forkAdvantages)),
            ("format", .number(format)),
        ])
    }

    enum CodingKeys: String, CodingKey {
        case total, outcome
        case toolCalls = "tool_calls"
        case toolFactor = "tool_factor"
        case advantage
        case stepRewards = "step_rewards"
        case forkAdvantages = "fork_advantages"
        case format
    }
}
