import ArborProtocol
import ArgumentParser
import Coordinator
import Foundation

/// `arbor status`: the state of a running job, from its coordinator's control socket.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show a running job's progress, queue, workers, rewards and eval per policy version.",
        discussion: """
            Asks the coordinator over its control socket, or over HTTP with --url (the address \
            given to `--http`; it also answers while the coordinator lingers after the job). \
            --json prints the documented status document (see docs/status-and-metrics.md and \
            docs/status.schema.json) for scripts; --watch refreshes every --interval seconds.

            Examples:
              arbor status --control tcp://127.0.0.1:5556 --watch
              arbor status --url http://127.0.0.1:8080 --json
            """)

    @Option(help: "The coordinator's control endpoint.")
    var control = "tcp://127.0.0.1:5556"

    @Option(help: "Read the status over HTTP from this coordinator URL (its --http address) instead of the control socket.")
    var url: String?

    @Flag(help: "Print the status document as JSON.")
    var json = false

    @Flag(help: "Keep refreshing until interrupted.")
    var watch = false

    @Option(help: "Seconds between refreshes with --watch.")
    var interval = 2.0

    @Option(help: "Seconds to wait for the coordinator to answer.")
    var timeout = 5.0

    func run() async throws {
        let context = ZMQContext()
        let client = try DealerClient(context: context, endpoint: control)
        defer { client.close() }
        repeat {
            let status: JobStatus
            if let url {
                status = try await HTTPStatusReader(base: url, timeout: timeout).read()
            } else {
                status = try await query(client)
            }
            if json {
                print(status.json(pretty: !watch))
            } else {
                if watch { print("\u{1B}[2J\u{1B}[H", terminator: "") }
                print(StatusTable(status: status).text)
            }
            fflush(nil)
            if watch { try await Task.sleep(nanoseconds: UInt64(interval * 1e9)) }
        } while watch
    }

    private func query(_ client: DealerClient) async throws -> JobStatus {
        let reply: Envelope
        do {
            reply = try await client.request(.statusQuery(Arbor_V1_StatusQuery()), timeout: timeout)
        } catch {
            throw ValidationError("no answer from a coordinator at \(control) within \(timeout) s (\(error))")
        }
        switch reply.body {
        case .statusReply(let status):
            return try JobStatus.decode(status.statusJson)
        case .error(let error):
            throw ValidationError("the coordinator answered with an error: \(error.message)")
        default:
            throw ValidationError("unexpected reply \(reply.body?.name ?? "empty") from \(control)")
        }
    }
}

/// The human-readable status: progress, queue, workers, rewards.
struct StatusTable {
    let status: JobStatus

    var text: String {
        var lines = [ProgressLine.text(status), ""]
        let queueTypes = status.queue.byType.keys.sorted().map { "\($0) \(status.queue.byType[$0]!)" }
        lines.append("queue: \(status.queue.depth) waiting (\(queueTypes.joined(separator: ", "))), \(status.queue.inFlight) in flight")
        lines.append("")
        lines.append(pad("WORKER", 28) + pad("HOST", 16) + pad("SLOTS", 7) + pad("BUSY", 6) + pad("HEARTBEAT", 11) + pad("POLICY", 8) + "TOK/S")
        for worker in status.workers {
            lines.append(
                pad(worker.id, 28) + pad(worker.host, 16) + pad("\(worker.slots)", 7) + pad("\(worker.busy)", 6)
                    + pad(String(format: "%.1fs ago", worker.lastHeartbeatS), 11) + pad("v\(worker.policyVersion)", 8)
                    + String(format: "%.0f", worker.tokensPerS) + (worker.draining ? "  (draining)" : ""))
        }
        if !status.rewards.isEmpty {
            lines.append("")
            lines.append(
                pad("TASK TYPE", 16) + pad("TRAJ", 7) + pad("REWARD", 9) + pad("LAST", 9) + pad("ADV", 9) + pad("ADV SD", 9)
                    + "CORRECT/ABSTAINED/WRONG")
            for type in status.rewards.keys.sorted() {
                let stats = status.rewards[type]!
                lines.append(
                    pad(type, 16) + pad("\(stats.trajectories)", 7) + pad(String(format: "%.3f", stats.meanReward), 9)
                        + pad(stats.rewardByBatch.last.map { String(format: "%.3f", $0) } ?? "–", 9)
                        + pad(String(format: "%.3f", stats.meanAdvantage), 9)
                        + pad(stats.advantageStd.map { String(format: "%.3f", $0) } ?? "–", 9)
                        + "\(stats.correct)/\(stats.abstained)/\(stats.wrong)")
            }
        }
        if let tools = status.tools, !tools.isEmpty {
            lines.append("")
            lines.append(pad("TOOL", 16) + pad("CALLS", 8) + pad("ERRORS", 8) + pad("OK", 8) + pad("MEAN", 10) + pad("P50", 10) + "P99")
            for name in tools.keys.sorted() {
                let tool = tools[name]!
                lines.append(
                    pad(name, 16) + pad("\(tool.calls)", 8) + pad("\(tool.errors)", 8)
                        + pad(String(format: "%.1f%%", tool.successRate * 100), 8) + pad(milliseconds(tool.latencyMeanS), 10)
                        + pad(milliseconds(tool.latencyP50S), 10) + milliseconds(tool.latencyP99S))
            }
        }
        if let aepo = status.aepo {
            lines.append("")
            lines.append(
                "AEPO: masking \(aepo.masking ? "on" : "off"), entropy \(aepo.entropy.map { String(format: "%.3f", $0) } ?? "n/a") (bounds \(aepo.low)–\(aepo.high))")
        }
        if let trainer = status.trainer, trainer.attached || trainer.policyVersion > 0 {
            lines.append("")
            lines.append(
                "trainer: policy v\(trainer.policyVersion) | served \(trainer.batchesServed), acked \(trainer.batchesAcked), leased \(trainer.batchesLeased), unpulled \(trainer.batchesUnpulled)"
                    + " | stale rows dropped \(trainer.staleRowsDropped) (max_staleness \(trainer.maxStaleness))"
                    + (trainer.backpressure ? " | waiting for the trainer" : "")
                    + (trainer.pullsWaiting > 0 ? " | \(trainer.pullsWaiting) pull(s) waiting" : ""))
        }
        if let reports = status.eval {
            lines.append("")
            lines += reports.isEmpty ? ["eval: no version evaluated yet"] : EvalTable(reports: reports).lines
        }
        let counters = status.counters
        lines.append("")
        lines.append(
            "tool calls \(counters.toolCalls) (\(counters.toolErrors) errors) | requeued \(counters.requeued) | duplicates \(counters.duplicates) | bad frames \(counters.badFrames) | workers lost \(counters.workersLost)")
        return lines.joined(separator: "\n")
    }

    private func milliseconds(_ seconds: Double?) -> String {
        seconds.map { String(format: "%.1f ms", $0 * 1000) } ?? "–"
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}
