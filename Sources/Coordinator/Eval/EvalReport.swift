import ArborProtocol
import Foundation

/// The figures of one policy version's eval: one line of `run_dir/eval.jsonl`, one entry of the
/// status document's `eval` list, and the `arbor_eval_*` metrics.
///
/// Each eval task is one trajectory. Its reward is the leaf's outcome (+1 correct, 0 abstained,
/// −1 wrong or no answer), the outcome reward that `rewards` in the status reports for training
/// trees; accuracy is the share of trajectories with outcome +1.
public struct EvalReport: Codable, Sendable, Equatable {
    /// The same figures over one group of trajectories (all of them, or one task type).
    public struct Figures: Codable, Sendable, Equatable {
        /// Trajectories (tasks answered; failed requests are not counted).
        public var tasks: Int
        public var meanReward: Double
        /// Share of trajectories whose answer is correct.
        public var accuracy: Double
        /// Share of trajectories with at least one tool call.
        public var toolCallRate: Double
        /// Mean model-generated tokens per trajectory.
        public var meanTokens: Double
        /// Standard error of `meanReward`: sample standard deviation / √tasks (0 below 2 tasks).
        public var stderrReward: Double
    }

    /// What one eval trajectory contributes.
    public struct Trajectory: Sendable, Equatable {
        public var taskType: String
        public var reward: Double
        public var toolCalls: Int
        public var tokens: Int

        public init(taskType: String, reward: Double, toolCalls: Int, tokens: Int) {
            self.taskType = taskType
            self.reward = reward
            self.toolCalls = toolCalls
            self.tokens = tokens
        }

        /// The trajectory of an eval tree: its first leaf's outcome (−1 without a leaf), every
        /// tool call and every sampled token of its steps.
        public init(result: RolloutResult, taskType: String) {
            let steps = result.tree.nodes.filter { $0.parent >= 0 }
            self.init(
                taskType: taskType, reward: Double(steps.first(where: \.isLeaf)?.outcome ?? -1),
                toolCalls: steps.reduce(0) { $0 + $1.toolCalls.count },
                tokens: steps.reduce(0) { $0 + $1.tokenIds.count })
        }
    }

    public var policyVersion: UInt64
    public var tasks: Int
    public var meanReward: Double
    public var accuracy: Double
    public var toolCallRate: Double
    public var meanTokens: Double
    public var stderrReward: Double
    /// Eval requests given up after their last attempt (left out of every figure).
    public var failed: Int
    /// The same figures per task type.
    public var byType: [String: Figures]
    /// Seconds from queueing the eval to its last result.
    public var seconds: Double
    /// When the eval completed (ISO 8601, UTC).
    public var timestamp: String

    /// The report of `trajectories` of `version`.
    public init(version: UInt64, trajectories: [Trajectory], failed: Int, seconds: Double, timestamp: Date) {
        let all = Self.figures(of: trajectories)
        policyVersion = version
        tasks = all.tasks
        meanReward = all.meanReward
        accuracy = all.accuracy
        toolCallRate = all.toolCallRate
        meanTokens = all.meanTokens
        stderrReward = all.stderrReward
        self.failed = failed
        byType = Dictionary(grouping: trajectories, by: \.taskType).mapValues(Self.figures(of:))
        self.seconds = seconds
        self.timestamp = ISO8601DateFormatter().string(from: timestamp)
    }

    /// The report of a complete round.
    public init(round: EvalRound, timestamp: Date) {
        let trajectories = round.requestIDs.compactMap { id in
            round.results[id].map { Trajectory(result: $0, taskType: round.taskTypes[id] ?? "") }
        }
        self.init(
            version: round.version, trajectories: trajectories, failed: round.failures.count,
            seconds: max(0, (round.closedAt ?? round.openedAt) - round.openedAt), timestamp: timestamp)
    }

    /// Mean, accuracy, tool-call rate, mean tokens and the standard error of the mean reward.
    public static func figures(of trajectories: [Trajectory]) -> Figures {
        let count = trajectories.count
        guard count > 0 else {
            return Figures(tasks: 0, meanReward: 0, accuracy: 0, toolCallRate: 0, meanTokens: 0, stderrReward: 0)
        }
        let n = Double(count)
        let mean = trajectories.reduce(0) { $0 + $1.reward } / n
        let squares = trajectories.reduce(0) { $0 + ($1.reward - mean) * ($1.reward - mean) }
        // Sample (n − 1) variance: the eval tasks are a sample of the task distribution.
        let stderr = count < 2 ? 0 : (squares / (n - 1)).squareRoot() / n.squareRoot()
        return Figures(
            tasks: count, meanReward: mean,
            accuracy: Double(trajectories.filter { $0.reward == 1 }.count) / n,
            toolCallRate: Double(trajectories.filter { $0.toolCalls > 0 }.count) / n,
            meanTokens: Double(trajectories.reduce(0) { $0 + $1.tokens }) / n, stderrReward: stderr)
    }

    /// The report as one JSON line (snake_case keys, sorted), without the newline.
    public func jsonLine() throws -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .custom { path in SnakeCaseKey(camelCase: path.last?.stringValue ?? "") }
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// Reads a line written by `jsonLine()`.
    public static func decode(line: some StringProtocol) throws -> EvalReport {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(EvalReport.self, from: Data(String(line).utf8))
    }
}

extension EvalReport {
    /// One line for the log.
    public var logLine: String {
        "eval of policy version \(policyVersion): \(tasks) task(s), mean reward "
            + String(format: "%.3f ± %.3f", meanReward, stderrReward)
            + String(format: ", accuracy %.3f, tool-call rate %.3f, %.1f tokens", accuracy, toolCallRate, meanTokens)
            + (failed > 0 ? ", \(failed) failed" : "") + String(format: " (%.1f s)", seconds)
    }
}

extension EvalReport {
    /// The overall figures as a `Figures` value (the same fields `byType` holds per type).
    public var overall: Figures {
        Figures(
            tasks: tasks, meanReward: meanReward, accuracy: accuracy, toolCallRate: toolCallRate,
            meanTokens: meanTokens, stderrReward: stderrReward)
    }
}
