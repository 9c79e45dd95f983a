import Foundation

/// The coordinator's state at one moment: what `arbor status --json`, `/api/status` and the
/// control socket's `StatusReply` carry. Field names are the documented JSON schema
/// (docs/status-and-metrics.md, "The status document"; docs/status.schema.json).
public struct JobStatus: Codable, Sendable, Equatable {
    public var job: Job
    public var queue: Queue
    public var workers: [Worker]
    public var rates: Rates
    public var counters: Counters
    /// Reward statistics per task type over every written batch.
    public var rewards: [String: RewardStats]
    public var aepo: AEPO?
    /// Calls, errors and latency per tool over every written batch (nil from coordinators that
    /// predate it; additive, like every field below).
    public var tools: [String: ToolStats]?
    /// Queue depth, in-flight requests and throughput over the job, sampled about once a second.
    public var history: History?
    /// The trainer stream: policy version, batches served and acknowledged, stale rows dropped.
    public var trainer: Trainer?
    /// The eval of every policy version evaluated so far, oldest first (the lines of
    /// `run_dir/eval.jsonl`); nil for a job without `eval:`.
    public var eval: [EvalReport]? = nil
    /// How rollouts ended: failed attempts by reason and task type, retries, drops and masks
    /// (nil from coordinators that predate typed outcomes).
    public var outcomes: Outcomes? = nil

    public struct Job: Codable, Sendable, Equatable {
        public var name: String
        /// "running", "complete" or "stopped".
        public var phase: String
        public var runDir: String
        public var startedAt: String
        public var uptimeS: Double
        public var batchesTotal: Int
        public var batchesCompleted: Int
        public var batchesWritten: Int
        /// Batches whose files could not be written (a disk error); nil from older coordinators.
        public var batchesFailed: Int? = nil
        public var batchesOpen: Int
        public var requestsDone: Int
        public var requestsPerBatch: Int
        /// Estimated seconds to completion at the current rate; nil until it can be estimated.
        public var etaS: Double?
    }

    public struct Queue: Codable, Sendable, Equatable {
        public var depth: Int
        public var byType: [String: Int]
        public var inFlight: Int
    }

    public struct Worker: Codable, Sendable, Equatable {
        public var id: String
        public var host: String
        public var backend: String
        public var slots: Int
        public var busy: Int
        public var lastHeartbeatS: Double
        public var policyVersion: UInt64
        public var tokensPerS: Double
        public var draining: Bool
        public var completed: Int
    }

    public struct Rates: Codable, Sendable, Equatable {
        /// Results per second over the job so far.
        public var rolloutsPerS: Double
        /// Sum of the workers' reported generation rates.
        public var tokensPerS: Double
        /// Seconds from the first dispatch to the latest result: the span the results took.
        public var activeS: Double
        /// Median and 99th percentile of dispatch-to-result time of recent requests, seconds.
        public var requestLatencyP50S: Double?
        public var requestLatencyP99S: Double?
    }

    public struct Counters: Codable, Sendable, Equatable {
        public var dispatched: Int
        public var results: Int
        public var duplicates: Int
        public var requeued: Int
        public var failedAttempts: Int
        public var givenUp: Int
        public var workersLost: Int
        public var badFrames: Int
        public var unexpectedMessages: Int
        public var generatedTokens: Int
        public var toolCalls: Int
        public var toolErrors: Int
        /// Worker connections refused by CURVE authentication (unknown key); nil without CURVE.
        public var curveRefusals: Int? = nil
        /// Straggler copies sent to a second worker; nil from coordinators that predate them.
        public var stragglersRedispatched: Int? = nil
        /// Peers no longer served after a run of bad frames.
        public var peersIgnored: Int? = nil
    }

    public struct RewardStats: Codable, Sendable, Equatable {
        public var trajectories: Int
        public var meanReward: Double
        public var meanAdvantage: Double
        public var correct: Int
        public var abstained: Int
        public var wrong: Int
        /// Mean reward of each written batch, oldest first (for reward curves).
        public var rewardByBatch: [Double]
        /// Standard deviation of the advantage over every trajectory of this type.
        public var advantageStd: Double?
        /// Mean advantage of each written batch, aligned with `rewardByBatch`.
        public var advantageByBatch: [Double]?
        /// Index of the batch each `rewardByBatch` entry comes from.
        public var batchIndices: [Int]?
    }

    /// One tool's calls as recorded in the written trees.
    public struct ToolStats: Codable, Sendable, Equatable {
        public var calls: Int
        public var errors: Int
        /// Sum of every call's latency, seconds (for a Prometheus summary's `_sum`).
        public var latencySumS: Double
        public var latencyMeanS: Double
        /// Median and 99th percentile over the most recent calls (up to 1024), seconds.
        public var latencyP50S: Double?
        public var latencyP99S: Double?

        /// Fraction of calls that succeeded; 1 before any call.
        public var successRate: Double { calls == 0 ? 1 : Double(calls - errors) / Double(calls) }
    }

    /// Time series sampled by the coordinator, oldest first; every array has the same length.
    /// When a series grows past its cap, every other sample is dropped and the sampling interval
    /// doubles, so the history always spans the whole job.
    public struct History: Codable, Sendable, Equatable {
        /// Seconds since the coordinator started, of each sample.
        public var tS: [Double] = []
        public var queueDepth: [Int] = []
        public var inFlight: [Int] = []
        public var busySlots: [Int] = []
        public var workers: [Int] = []
        /// Results per second since the previous sample.
        public var rolloutsPerS: [Double] = []
        /// Sum of the workers' generation rates at the sample.
        public var tokensPerS: [Double] = []
        /// Seconds between samples now.
        public var intervalS: Double = 1
    }

    /// The trainer side of the control socket.
    public struct Trainer: Codable, Sendable, Equatable {
        /// Whether a trainer takes part: `trainer.required` in the job, or one has pulled.
        public var attached: Bool
        public var required: Bool
        /// The policy version published last (0: the job's own model), and its weights.
        public var policyVersion: UInt64
        public var policyWeightsPath: String
        public var maxStaleness: Int
        /// Trainer connections whose pull waits for a batch.
        public var pullsWaiting: Int
        public var batchesServed: Int
        public var batchesAcked: Int
        /// Served and not yet acknowledged.
        public var batchesLeased: Int
        /// Complete batches no trainer has taken yet.
        public var batchesUnpulled: Int
        /// True while new batches wait because the trainer is `max_batches_in_flight` behind.
        public var backpressure: Bool
        public var leasesExpired: Int
        /// Rows left out of served batches for being sampled with a policy too old.
        public var staleRowsDropped: Int
    }

    /// Failed rollouts and what became of them. Reasons are the failure outcomes of
    /// `RolloutOutcome` (`tool_infra_error`, `backend_error`, `contract_violation`, `timeout`,
    /// `cancelled`); dictionary keys are outcome names and task types as written.
    public struct Outcomes: Codable, Sendable, Equatable {
        /// Failed attempts by reason, then task type (a retried request counts every attempt).
        public var failed: [String: [String: Int]]
        /// Sum of `failed`.
        public var failedTotal: Int
        /// Scored trees that hold at least one model's bad call, by task type (not failures).
        public var modelErrors: [String: Int]
        /// Requests sent again after a failed attempt.
        public var retried: Int
        /// Requests left out of their batch, by final reason.
        public var dropped: [String: Int]
        /// Requests kept as weight-0 rows, by final reason.
        public var masked: [String: Int]
    }

    public struct AEPO: Codable, Sendable, Equatable {
        public var masking: Bool
        public var entropy: Double?
        public var low: Double
        public var high: Double
    }

    /// Pretty JSON with snake_case keys.
    public func json(pretty: Bool = false) -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .custom { path in SnakeCaseKey(camelCase: path.last?.stringValue ?? "") }
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys] : [.sortedKeys]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// Reads the JSON form (`json()`).
    public static func decode(_ text: String) throws -> JobStatus {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(JobStatus.self, from: Data(text.utf8))
    }
}

/// A JSON key in snake_case, split at every lower-or-digit → upper boundary, so
/// `requestLatencyP50S` becomes `request_latency_p50_s` (Foundation's `convertToSnakeCase`
/// writes `p50s`, which its own `convertFromSnakeCase` cannot read back). Dictionary keys (task
/// types, tool names) are not coding keys and pass through unchanged.
struct SnakeCaseKey: CodingKey {
    let stringValue: String
    var intValue: Int? { nil }

    init(camelCase: String) {
        var out = ""
        var previous: Character?
        for character in camelCase {
            if character.isUppercase, let previous, previous.isLowercase || previous.isNumber {
                out.append("_")
            }
            out += character.lowercased()
            previous = character
        }
        stringValue = out
    }

    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
