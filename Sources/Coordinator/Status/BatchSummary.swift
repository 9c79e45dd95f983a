import ArborProtocol
import Foundation

/// What one written batch contributed: counts and reward statistics per task type, for the
/// log line, status and metrics.
public struct BatchSummary: Sendable, Codable, Equatable {
    public var index: Int
    public var trees: Int
    public var rows: Int
    public var failedRequests: Int
    public var generatedTokens: Int
    public var toolCalls: Int
    public var toolErrors: Int
    /// Per task type.
    public var byType: [String: TypeStats]
    public var aepo: AEPODecision
    /// Per tool name, from the tool calls recorded in the batch's trees.
    public var tools: [String: ToolCalls] = [:]
    /// Requests left out of the batch (no rows), by outcome.
    public var dropped: [String: Int] = [:]
    /// Requests whose rows are kept with weight 0, by outcome.
    public var masked: [String: Int] = [:]

    /// The calls of one tool in one batch.
    public struct ToolCalls: Sendable, Codable, Equatable {
        public var calls = 0
        public var errors = 0
        /// Latency of each call, seconds, in tree order.
        public var latenciesS: [Double] = []
    }

    /// Reward and advantage statistics of one task type in one batch.
    public struct TypeStats: Sendable, Codable, Equatable {
        public var trajectories = 0
        public var rewardSum = 0.0
        public var advantageSum = 0.0
        public var advantageSquares = 0.0
        public var correct = 0
        public var abstained = 0
        public var wrong = 0

        public var meanReward: Double { trajectories == 0 ? 0 : rewardSum / Double(trajectories) }
        public var meanAdvantage: Double { trajectories == 0 ? 0 : advantageSum / Double(trajectories) }
        /// Population standard deviation of the advantage.
        public var advantageStd: Double {
            guard trajectories > 0 else { return 0 }
            let mean = meanAdvantage
            return max(0, advantageSquares / Double(trajectories) - mean * mean).squareRoot()
        }
    }

    /// `rejected`: requests the writer left out for breaking the tree contract.
    init(batch: CoordinatorCore.OpenBatch, results: [RolloutResult], signal: BatchSignal, rejected: [String: String] = [:]) {
        index = batch.index
        trees = results.count
        rows = signal.rows.count
        failedRequests = batch.failures.count + rejected.count
        for (id, _) in batch.failures {
            let outcome = (batch.failedOutcomes[id] ?? .backendError).rawValue
            if batch.masked[id] != nil { masked[outcome, default: 0] += 1 } else { dropped[outcome, default: 0] += 1 }
        }
        if !rejected.isEmpty { dropped[RolloutOutcome.contractViolation.rawValue, default: 0] += rejected.count }
        generatedTokens = results.reduce(0) { $0 + Int($1.stats.generatedTokens) }
        toolCalls = results.reduce(0) { $0 + Int($1.stats.toolCalls) }
        toolErrors = results.reduce(0) { $0 + Int($1.stats.toolErrors) }
        aepo = signal.decision
        var byType: [String: TypeStats] = [:]
        for row in signal.rows where row.failure == nil {
            var stats = byType[row.taskType] ?? TypeStats()
            stats.trajectories += 1
            stats.rewardSum += Double(row.reward.outcome)
            stats.advantageSum += row.reward.advantage
            stats.advantageSquares += row.reward.advantage * row.reward.advantage
            switch row.reward.outcome {
            case 1: stats.correct += 1
            case 0: stats.abstained += 1
            default: stats.wrong += 1
            }
            byType[row.taskType] = stats
        }
        self.byType = byType
        tools = Self.toolCalls(in: results)
    }

    /// Tallies the tool calls of every node of every tree by tool name.
    static func toolCalls(in results: [RolloutResult]) -> [String: ToolCalls] {
        var tools: [String: ToolCalls] = [:]
        for result in results {
            for node in result.tree.nodes {
                for call in node.toolCalls {
                    let name = call.name.isEmpty ? "unnamed" : call.name
                    var stats = tools[name] ?? ToolCalls()
                    stats.calls += 1
                    if !call.ok { stats.errors += 1 }
                    stats.latenciesS.append(call.latencyMs / 1000)
                    tools[name] = stats
                }
            }
        }
        return tools
    }

    /// One line for the log.
    public var logLine: String {
        let types = byType.keys.sorted().map { type in
            let stats = byType[type]!
            return "\(type) reward \(String(format: "%.3f", stats.meanReward)) (\(stats.correct)/\(stats.trajectories) correct)"
        }
        func list(_ counts: [String: Int]) -> String {
            counts.keys.sorted().map { "\($0) \(counts[$0]!)" }.joined(separator: ", ")
        }
        return "batch \(index) written: \(trees) trees, \(rows) rows; " + types.joined(separator: ", ")
            + (dropped.isEmpty ? "" : "; \(dropped.values.reduce(0, +)) tree(s) dropped (\(list(dropped)))")
            + (masked.isEmpty ? "" : "; \(masked.values.reduce(0, +)) tree(s) masked (\(list(masked)))")
    }
}
