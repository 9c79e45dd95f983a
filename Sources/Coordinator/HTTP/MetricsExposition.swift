import Foundation

/// Renders a `JobStatus` as Prometheus text exposition (format 0.0.4): the `/metrics` body.
///
/// Rendered straight from the status snapshot rather than through a metrics registry, so every
/// scrape is one consistent moment of the job and the series cannot drift from `arbor status`.
/// Names follow Prometheus conventions: an `arbor_` prefix, base units in the name (`_seconds`),
/// `_total` on counters. The series are listed in docs/status-and-metrics.md ("Metrics").
public struct MetricsExposition {
    /// The `Content-Type` of the text format.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// The status to render.
    public let status: JobStatus

    /// Creates the exposition of `status`.
    public init(status: JobStatus) {
        self.status = status
    }

    /// The exposition text, one family after another, ending in a newline.
    public var text: String {
        var out = Families()
        let job = status.job
        out.family("arbor_job_info", .gauge, "The job's name and phase (running, complete, stopped); always 1.")
        out.sample("arbor_job_info", ["job": job.name, "phase": job.phase], 1)
        out.gauge("arbor_job_uptime_seconds", "Seconds since the coordinator started.", job.uptimeS)
        out.gauge("arbor_job_batches", "Batches the job asks for.", job.batchesTotal)
        out.counter("arbor_batches_completed_total", "Batches whose every request is answered or given up.", job.batchesCompleted)
        out.counter("arbor_batches_written_total", "Batches written to the run directory.", job.batchesWritten)
        out.counter("arbor_batches_failed_total", "Batches whose files could not be written.", job.batchesFailed ?? 0)
        out.gauge("arbor_batches_open", "Batches dispatched but not yet complete.", job.batchesOpen)
        if let eta = job.etaS {
            out.gauge("arbor_job_eta_seconds", "Estimated seconds until the job completes at the current rate.", eta)
        }

        out.gauge("arbor_queue_depth", "Requests waiting for a worker slot.", status.queue.depth)
        out.family("arbor_queue_depth_by_task_type", .gauge, "Requests waiting for a worker slot, per task type.")
        for (type, depth) in status.queue.byType.sorted(by: { $0.key < $1.key }) {
            out.sample("arbor_queue_depth_by_task_type", ["task_type": type], Double(depth))
        }
        out.gauge("arbor_requests_in_flight", "Requests dispatched to a worker and not yet answered.", status.queue.inFlight)

        let rates = status.rates
        out.gauge("arbor_rollouts_per_second", "Rollout results per second over the job so far.", rates.rolloutsPerS)
        out.gauge("arbor_tokens_per_second", "Sum of the workers' reported generation rates, tokens per second.", rates.tokensPerS)
        out.family("arbor_request_latency_seconds", .gauge, "Dispatch-to-result time of recent requests, by quantile.")
        for (quantile, value) in [("0.5", rates.requestLatencyP50S), ("0.99", rates.requestLatencyP99S)] {
            if let value { out.sample("arbor_request_latency_seconds", ["quantile": quantile], value) }
        }

        let counters = status.counters
        out.counter("arbor_requests_dispatched_total", "Request attempts sent to workers.", counters.dispatched)
        out.counter("arbor_rollout_results_total", "Rollout results accepted.", counters.results)
        out.counter("arbor_rollout_results_duplicate_total", "Results dropped as duplicates of an answered request.", counters.duplicates)
        out.counter("arbor_requests_requeued_total", "Requests put back on the queue (worker lost or failed).", counters.requeued)
        out.counter("arbor_request_attempts_failed_total", "Request attempts a worker reported as failed.", counters.failedAttempts)
        out.counter("arbor_requests_given_up_total", "Requests abandoned after their last attempt.", counters.givenUp)
        out.counter("arbor_workers_lost_total", "Workers dropped for missing heartbeats.", counters.workersLost)
        out.counter("arbor_frames_bad_total", "Malformed frames received on either socket.", counters.badFrames)
        out.counter("arbor_messages_unexpected_total", "Well-formed messages that made no sense in context.", counters.unexpectedMessages)
        out.counter("arbor_generated_tokens_total", "Tokens generated in written batches.", counters.generatedTokens)

        renderOutcomes(&out)
        renderTrainer(&out)
        renderTools(&out)
        renderWorkers(&out)
        renderRewards(&out)
        renderEval(&out)
        if let aepo = status.aepo {
            out.gauge("arbor_aepo_masking", "1 while AEPO entropy masking is on, else 0.", aepo.masking ? 1 : 0)
            if let entropy = aepo.entropy {
                out.gauge("arbor_aepo_entropy_nats", "Mean token entropy of the last written batch, nats.", entropy)
            }
            out.family("arbor_aepo_bound_nats", .gauge, "AEPO entropy bounds from the job, nats.")
            out.sample("arbor_aepo_bound_nats", ["bound": "low"], aepo.low)
            out.sample("arbor_aepo_bound_nats", ["bound": "high"], aepo.high)
        }
        return out.text
    }

    /// Failed rollouts by reason and task type, and what became of them.
    private func renderOutcomes(_ out: inout Families) {
        guard let outcomes = status.outcomes else { return }
        out.family("arbor_rollouts_failed_total", .counter, "Rollout attempts that failed, by reason and task type.")
        for (reason, byType) in outcomes.failed.sorted(by: { $0.key < $1.key }) {
            for (type, count) in byType.sorted(by: { $0.key < $1.key }) {
                out.sample("arbor_rollouts_failed_total", ["reason": reason, "task_type": type], Double(count))
            }
        }
        out.family("arbor_rollouts_model_error_total", .counter, "Scored trees holding a model's bad call, by task type.")
        for (type, count) in outcomes.modelErrors.sorted(by: { $0.key < $1.key }) {
            out.sample("arbor_rollouts_model_error_total", ["task_type": type], Double(count))
        }
        out.counter("arbor_rollouts_retried_total", "Requests sent again after a failed attempt.", outcomes.retried)
        for (name, counts, help) in [
            ("arbor_rollouts_dropped_total", outcomes.dropped, "Requests left out of their batch, by final reason."),
            ("arbor_rollouts_masked_total", outcomes.masked, "Requests kept as weight-0 rows, by final reason."),
        ] {
            out.family(name, .counter, help)
            for (reason, count) in counts.sorted(by: { $0.key < $1.key }) {
                out.sample(name, ["reason": reason], Double(count))
            }
        }
    }

    private func renderTrainer(_ out: inout Families) {
        guard let trainer = status.trainer else { return }
        out.gauge("arbor_policy_version", "The policy version published last (0: the job's model).", Double(trainer.policyVersion))
        out.gauge("arbor_trainer_attached", "1 while a trainer takes part (backpressure and acknowledgements apply).", trainer.attached ? 1 : 0)
        out.gauge("arbor_trainer_backpressure", "1 while new batches wait for the trainer to pull.", trainer.backpressure ? 1 : 0)
        out.gauge("arbor_trainer_pulls_waiting", "Trainer pulls waiting for a batch.", trainer.pullsWaiting)
        out.gauge("arbor_trainer_batches_unpulled", "Complete batches no trainer has taken.", trainer.batchesUnpulled)
        out.gauge("arbor_trainer_batches_leased", "Batches served and not yet acknowledged.", trainer.batchesLeased)
        out.counter("arbor_trainer_batches_served_total", "Training batches sent to trainers.", trainer.batchesServed)
        out.counter("arbor_trainer_batches_acked_total", "Batches acknowledged by a trainer.", trainer.batchesAcked)
        out.counter("arbor_trainer_leases_expired_total", "Served batches offered again after their lease ran out.", trainer.leasesExpired)
        out.counter(
            "arbor_trainer_stale_rows_dropped_total", "Rows left out of served batches for an old policy version.",
            trainer.staleRowsDropped)
    }

    private func renderTools(_ out: inout Families) {
        let tools = (status.tools ?? [:]).sorted { $0.key < $1.key }
        out.family("arbor_tool_calls_total", .counter, "Tool calls recorded in written trees, per tool.")
        for (tool, stats) in tools { out.sample("arbor_tool_calls_total", ["tool": tool], Double(stats.calls)) }
        out.family("arbor_tool_errors_total", .counter, "Tool calls that failed, per tool.")
        for (tool, stats) in tools { out.sample("arbor_tool_errors_total", ["tool": tool], Double(stats.errors)) }
        out.family("arbor_tool_call_duration_seconds", .summary, "Tool call latency per tool (quantiles over recent calls).")
        for (tool, stats) in tools {
            for (quantile, value) in [("0.5", stats.latencyP50S), ("0.99", stats.latencyP99S)] {
                if let value {
                    out.sample("arbor_tool_call_duration_seconds", ["tool": tool, "quantile": quantile], value)
                }
            }
            out.sample("arbor_tool_call_duration_seconds_sum", ["tool": tool], stats.latencySumS)
            out.sample("arbor_tool_call_duration_seconds_count", ["tool": tool], Double(stats.calls))
        }
    }

    private func renderWorkers(_ out: inout Families) {
        out.gauge("arbor_workers", "Workers registered.", status.workers.count)
        let perWorker: [(String, Families.Kind, String, (JobStatus.Worker) -> Double)] = [
            ("arbor_worker_slots", .gauge, "Requests the worker serves at once.", { Double($0.slots) }),
            ("arbor_worker_busy_slots", .gauge, "Slots holding a request.", { Double($0.busy) }),
            ("arbor_worker_tokens_per_second", .gauge, "The worker's reported generation rate.", { $0.tokensPerS }),
            ("arbor_worker_heartbeat_age_seconds", .gauge, "Seconds since the worker was last heard from.", { $0.lastHeartbeatS }),
            ("arbor_worker_policy_version", .gauge, "Policy version the worker samples with.", { Double($0.policyVersion) }),
            ("arbor_worker_draining", .gauge, "1 while the worker is draining, else 0.", { $0.draining ? 1 : 0 }),
            ("arbor_worker_rollouts_completed_total", .counter, "Results the worker delivered.", { Double($0.completed) }),
        ]
        for (name, kind, help, value) in perWorker {
            out.family(name, kind, help)
            for worker in status.workers {
                out.sample(name, ["worker": worker.id, "host": worker.host], value(worker))
            }
        }
    }

    private func renderRewards(_ out: inout Families) {
        let rewards = status.rewards.sorted { $0.key < $1.key }
        out.family("arbor_trajectories_total", .counter, "Trajectories written, per task type.")
        for (type, stats) in rewards { out.sample("arbor_trajectories_total", ["task_type": type], Double(stats.trajectories)) }
        out.family("arbor_trajectory_outcomes_total", .counter, "Trajectory outcomes (correct, abstained, wrong), per task type.")
        for (type, stats) in rewards {
            for (outcome, count) in [("correct", stats.correct), ("abstained", stats.abstained), ("wrong", stats.wrong)] {
                out.sample("arbor_trajectory_outcomes_total", ["task_type": type, "outcome": outcome], Double(count))
            }
        }
        out.family("arbor_reward_mean", .gauge, "Mean outcome reward over the job, per task type.")
        for (type, stats) in rewards { out.sample("arbor_reward_mean", ["task_type": type], stats.meanReward) }
        out.family("arbor_reward_last_batch_mean", .gauge, "Mean outcome reward of the last written batch, per task type.")
        for (type, stats) in rewards {
            if let last = stats.rewardByBatch.last { out.sample("arbor_reward_last_batch_mean", ["task_type": type], last) }
        }
        out.family("arbor_advantage_mean", .gauge, "Mean advantage over the job, per task type.")
        for (type, stats) in rewards { out.sample("arbor_advantage_mean", ["task_type": type], stats.meanAdvantage) }
        out.family("arbor_advantage_stddev", .gauge, "Standard deviation of the advantage over the job, per task type.")
        for (type, stats) in rewards {
            if let std = stats.advantageStd { out.sample("arbor_advantage_stddev", ["task_type": type], std) }
        }
    }
}

extension MetricsExposition {
    /// The `arbor_eval_*` gauges: every evaluated version, overall (`task_type="all"`) and per
    /// task type, so a query can plot a figure against `policy_version`.
    fileprivate func renderEval(_ out: inout Families) {
        guard let reports = status.eval else { return }
        let figures: [(String, String, (EvalReport.Figures) -> Double)] = [
            ("arbor_eval_mean_reward", "Mean outcome reward of the eval, per policy version and task type.", \.meanReward),
            ("arbor_eval_accuracy", "Share of eval trajectories answered correctly.", \.accuracy),
            ("arbor_eval_tool_call_rate", "Share of eval trajectories with at least one tool call.", \.toolCallRate),
            ("arbor_eval_mean_tokens", "Mean generated tokens per eval trajectory.", \.meanTokens),
            ("arbor_eval_stderr_reward", "Standard error of the eval's mean reward.", \.stderrReward),
            ("arbor_eval_tasks", "Eval trajectories scored.", { Double($0.tasks) }),
        ]
        for (name, help, value) in figures {
            out.family(name, .gauge, help)
            for report in reports {
                let version = "\(report.policyVersion)"
                out.sample(name, ["policy_version": version, "task_type": "all"], value(report.overall))
                for (type, stats) in report.byType.sorted(by: { $0.key < $1.key }) {
                    out.sample(name, ["policy_version": version, "task_type": type], value(stats))
                }
            }
        }
        if let last = reports.last {
            out.gauge("arbor_eval_last_policy_version", "The policy version evaluated last.", Double(last.policyVersion))
        }
    }
}

/// The exposition being written: `# HELP`/`# TYPE` headers and samples.
private struct Families {
    enum Kind: String { case gauge, counter, summary }

    private(set) var text = ""

    mutating func family(_ name: String, _ kind: Kind, _ help: String) {
        text += "# HELP \(name) \(help.replacingOccurrences(of: "\\", with: "\\\\"))\n# TYPE \(name) \(kind.rawValue)\n"
    }

    mutating func sample(_ name: String, _ labels: [String: String], _ value: Double) {
        text += name
        if !labels.isEmpty {
            let pairs = labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\(Self.escape($0.value))\"" }
            text += "{" + pairs.joined(separator: ",") + "}"
        }
        text += " " + Self.format(value) + "\n"
    }

    mutating func gauge(_ name: String, _ help: String, _ value: Double) {
        family(name, .gauge, help)
        sample(name, [:], value)
    }

    mutating func gauge(_ name: String, _ help: String, _ value: Int) { gauge(name, help, Double(value)) }

    mutating func counter(_ name: String, _ help: String, _ value: Int) {
        family(name, .counter, help)
        sample(name, [:], Double(value))
    }

    /// Label values escape backslash, double quote and newline (the text format's rule).
    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}
