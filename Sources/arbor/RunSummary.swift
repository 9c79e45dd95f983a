import Coordinator
import Foundation

/// The human-readable end-of-job summary `arbor run` and `arbor coordinator` print.
struct RunSummary {
    let status: JobStatus

    var text: String {
        let job = status.job
        if status.counters.results == 0, job.batchesTotal > 0, job.batchesWritten == job.batchesTotal {
            // Complete without a rollout in this run: the run directory held the finished job.
            return Self.alreadyComplete(job: job.name, runDirectory: job.runDir, batches: job.batchesTotal)
        }
        var lines = [
            "job \(job.name): \(job.phase), \(job.batchesWritten)/\(job.batchesTotal) batch(es) written in \(format(job.uptimeS)) s",
            "  run directory: \(job.runDir)",
            "  rollouts: \(status.counters.results) (\(format(status.rates.rolloutsPerS))/s), requeued \(status.counters.requeued), duplicates dropped \(status.counters.duplicates), given up \(status.counters.givenUp)",
            "  tokens generated: \(status.counters.generatedTokens), tool calls: \(status.counters.toolCalls) (\(status.counters.toolErrors) errors)",
        ]
        for type in status.rewards.keys.sorted() {
            let stats = status.rewards[type]!
            lines.append(
                "  \(type): mean reward \(format(stats.meanReward)), \(stats.correct)/\(stats.trajectories) correct, \(stats.abstained) abstained")
        }
        if let reports = status.eval, !reports.isEmpty {
            lines.append("  eval per policy version:")
            lines += EvalTable(reports: reports).lines.map { "    " + $0 }
        }
        if let aepo = status.aepo {
            lines.append("  AEPO: masking \(aepo.masking ? "on" : "off"), entropy \(aepo.entropy.map(format) ?? "n/a") (bounds \(aepo.low)–\(aepo.high))")
        }
        return lines.joined(separator: "\n")
    }

    private func format(_ value: Double) -> String { String(format: "%.2f", value) }

    /// The summary of a job whose run directory already held all of its batches.
    static func alreadyComplete(job: String, runDirectory: String, batches: Int) -> String {
        "job \(job): already complete in \(runDirectory) (\(batches)/\(batches) batches written by an earlier run), "
            + "nothing to do; remove the directory or pass another --run-dir to run it again"
    }
}

/// The one-line live progress of a running job.
struct ProgressLine {
    static func text(_ status: JobStatus) -> String {
        let job = status.job
        let eta = job.etaS.map { "ETA \(Int($0.rounded())) s" } ?? "ETA –"
        let busy = status.workers.reduce(0) { $0 + $1.busy }
        let slots = status.workers.reduce(0) { $0 + $1.slots }
        return "batches \(job.batchesWritten)/\(job.batchesTotal) | rollouts \(status.counters.results) "
            + "(\(String(format: "%.1f", status.rates.rolloutsPerS))/s) | queue \(status.queue.depth) | "
            + "in flight \(status.queue.inFlight) | workers \(status.workers.count) (\(busy)/\(slots) busy) | \(eta)"
    }
}
