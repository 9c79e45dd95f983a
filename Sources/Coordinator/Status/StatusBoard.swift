import ArborProtocol
import Foundation

/// Accumulates what the status needs beyond the core's live state: written batches, reward
/// history, control-socket errors. Owned by the coordinator's transport thread.
struct StatusBoard {
    let config: JobConfig
    let startedAt: Date
    let started: Double
    let runDirectory: String
    var batchesWritten = 0
    var batchesFailed = 0
    var controlBadFrames = 0
    /// Workers refused by CURVE authentication; nil when the worker socket is plain TCP.
    var curveRefusals: Int?
    var generatedTokens = 0
    var toolCalls = 0
    var toolErrors = 0
    var rewards: [String: BatchSummary.TypeStats] = [:]
    var rewardByBatch: [String: [Double]] = [:]
    var advantageByBatch: [String: [Double]] = [:]
    var batchIndices: [String: [Int]] = [:]
    var lastAEPO: AEPODecision?
    var tools: [String: ToolTally] = [:]
    var history = StatusHistory()
    /// Eval reports written, oldest first.
    var evalReports: [EvalReport] = []

    /// One tool's totals, with a bounded window of recent latencies for percentiles.
    struct ToolTally {
        static let window = 1024
        var calls = 0
        var errors = 0
        var latencySum = 0.0
        var recentLatencies: [Double] = []

        mutating func add(_ batch: BatchSummary.ToolCalls) {
            calls += batch.calls
            errors += batch.errors
            latencySum += batch.latenciesS.reduce(0, +)
            recentLatencies.append(contentsOf: batch.latenciesS.suffix(Self.window))
            if recentLatencies.count > Self.window { recentLatencies.removeFirst(recentLatencies.count - Self.window) }
        }

        var status: JobStatus.ToolStats {
            JobStatus.ToolStats(
                calls: calls, errors: errors, latencySumS: latencySum,
                latencyMeanS: calls == 0 ? 0 : latencySum / Double(calls),
                latencyP50S: Percentile.of(recentLatencies, 0.5), latencyP99S: Percentile.of(recentLatencies, 0.99))
        }
    }

    init(config: JobConfig, startedAt: Date, runDirectory: String) {
        self.config = config
        self.startedAt = startedAt
        self.started = Clock.now()
        self.runDirectory = runDirectory
    }

    mutating func batchClosed(_ batch: CoordinatorCore.OpenBatch) {}

    /// An eval report was written to `eval.jsonl`.
    mutating func evalWritten(_ report: EvalReport) {
        evalReports.append(report)
    }

    mutating func batchWritten(_ summary: BatchSummary) {
        batchesWritten += 1
        generatedTokens += summary.generatedTokens
        toolCalls += summary.toolCalls
        toolErrors += summary.toolErrors
        lastAEPO = summary.aepo
        for (type, stats) in summary.byType {
            var total = rewards[type] ?? BatchSummary.TypeStats()
            total.trajectories += stats.trajectories
            total.rewardSum += stats.rewardSum
            total.advantageSum += stats.advantageSum
            total.advantageSquares += stats.advantageSquares
            total.correct += stats.correct
            total.abstained += stats.abstained
            total.wrong += stats.wrong
            rewards[type] = total
            rewardByBatch[type, default: []].append(stats.meanReward)
            advantageByBatch[type, default: []].append(stats.meanAdvantage)
            batchIndices[type, default: []].append(summary.index)
        }
        for (name, calls) in summary.tools {
            tools[name, default: ToolTally()].add(calls)
        }
    }

    /// Adds a point to the time series when a sampling interval has passed; call a few times a
    /// second from the transport thread.
    mutating func sampleHistory(core: CoordinatorCore, now: Double) {
        let workers = core.registry.workers.values
        history.record(
            .init(
                uptime: now - started, queueDepth: core.queueDepth, inFlight: core.inFlightCount,
                busySlots: workers.reduce(0) { $0 + $1.assigned.count }, workers: workers.count,
                results: core.counters.results, tokensPerS: workers.reduce(0) { $0 + $1.tokensPerSecond }))
    }

    static func trainerStatus(core: CoordinatorCore, trainer: TrainerStream, config: JobConfig) -> JobStatus.Trainer {
        let counters = trainer.counters
        return JobStatus.Trainer(
            attached: trainer.isAttached, required: config.trainer.required, policyVersion: core.policyVersion,
            policyWeightsPath: core.policyWeightsPath, maxStaleness: config.maxStaleness,
            pullsWaiting: trainer.pullsWaiting, batchesServed: counters.served, batchesAcked: trainer.acked.count,
            batchesLeased: trainer.leased, batchesUnpulled: max(0, core.batchesCompleted - trainer.settled),
            backpressure: core.isHeldForTrainer,
            leasesExpired: counters.leasesExpired, staleRowsDropped: counters.staleRowsDropped)
    }

    func snapshot(core: CoordinatorCore, trainer: TrainerStream, now: Double, phase: String) -> JobStatus {
        let uptime = max(now - started, 1e-3)
        let counters = core.counters
        let perBatch = config.batch.tasks
        // Masked requests are done too: their rows are written, with weight 0.
        let done = counters.results + counters.givenUp + core.outcomes.maskedTotal
        let remaining = max(0, config.batch.count * perBatch - done)
        let rate = Double(counters.results) / uptime
        let workers = core.registry.workers.values.sorted { $0.id < $1.id }.map { worker in
            JobStatus.Worker(
                id: worker.id, host: worker.host, backend: worker.backend, slots: worker.slots,
                busy: worker.assigned.count, lastHeartbeatS: max(0, now - worker.lastHeard),
                policyVersion: worker.policyVersion, tokensPerS: worker.tokensPerSecond, draining: worker.draining,
                completed: worker.completed)
        }
        let formatter = ISO8601DateFormatter()
        return JobStatus(
            job: .init(
                name: config.name, phase: phase, runDir: runDirectory, startedAt: formatter.string(from: startedAt),
                uptimeS: uptime, batchesTotal: config.batch.count, batchesCompleted: core.batchesCompleted,
                batchesWritten: batchesWritten, batchesFailed: batchesFailed, batchesOpen: core.openBatches.count,
                requestsDone: done, requestsPerBatch: perBatch,
                etaS: rate > 0 ? Double(remaining) / rate : nil),
            queue: .init(depth: core.queueDepth, byType: core.queueDepthByType, inFlight: core.inFlightCount),
            workers: workers,
            rates: .init(
                rolloutsPerS: rate, tokensPerS: workers.reduce(0) { $0 + $1.tokensPerS },
                activeS: core.firstDispatchAt.flatMap { first in core.lastResultAt.map { $0 - first } } ?? 0,
                requestLatencyP50S: Percentile.of(core.recentLatencies, 0.5),
                requestLatencyP99S: Percentile.of(core.recentLatencies, 0.99)),
            counters: .init(
                dispatched: counters.dispatched, results: counters.results, duplicates: counters.duplicates,
                requeued: counters.requeued, failedAttempts: counters.failedAttempts, givenUp: counters.givenUp,
                workersLost: counters.workersLost, badFrames: counters.badFrames + controlBadFrames,
                unexpectedMessages: counters.unexpectedMessages, generatedTokens: generatedTokens,
                toolCalls: toolCalls, toolErrors: toolErrors, curveRefusals: curveRefusals,
                stragglersRedispatched: counters.stragglersRedispatched, peersIgnored: counters.peersIgnored),
            rewards: rewards.reduce(into: [:]) { result, entry in
                let stats = entry.value
                result[entry.key] = JobStatus.RewardStats(
                    trajectories: stats.trajectories, meanReward: stats.meanReward, meanAdvantage: stats.meanAdvantage,
                    correct: stats.correct, abstained: stats.abstained, wrong: stats.wrong,
                    rewardByBatch: rewardByBatch[entry.key] ?? [], advantageStd: stats.advantageStd,
                    advantageByBatch: advantageByBatch[entry.key] ?? [], batchIndices: batchIndices[entry.key] ?? [])
            },
            aepo: config.advantage.aepo.map { bounds in
                JobStatus.AEPO(
                    masking: lastAEPO?.isOn ?? false, entropy: lastAEPO?.entropy, low: bounds.low, high: bounds.high)
            },
            tools: tools.mapValues(\.status),
            history: history.series,
            trainer: Self.trainerStatus(core: core, trainer: trainer, config: config),
            eval: config.eval == nil ? nil : evalReports,
            outcomes: Self.outcomes(core.outcomes))
    }

    /// The status form of the core's outcome tally (outcome names as keys).
    static func outcomes(_ tally: OutcomeTally) -> JobStatus.Outcomes {
        func named(_ counts: [RolloutOutcome: Int]) -> [String: Int] {
            Dictionary(uniqueKeysWithValues: counts.map { ($0.key.rawValue, $0.value) })
        }
        return JobStatus.Outcomes(
            failed: Dictionary(uniqueKeysWithValues: tally.failed.map { ($0.key.rawValue, $0.value) }),
            failedTotal: tally.failedTotal, modelErrors: tally.modelErrors, retried: tally.retried,
            dropped: named(tally.dropped), masked: named(tally.masked))
    }
}
