import ArborProtocol
import ArgumentParser
import Coordinator
import Foundation

/// `arbor status`: the state of a running job, from its coordinator's control socket.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show a running job's progress, queue, workers and rewards.",
        discussion: """
            Asks the coordinator over its control socket. --json prints the documented status \
            document (see the README) for scripts; --watch refreshes every --interval seconds.

            Example:
              arbor status --control tcp://127.0.0.1:5556 --watch
            """)

    @Option(help: "The coordinator's control endpoint.")
    var control = "tcp://127.0.0.1:5556"

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
            let status = try await query(client)
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
            lines.append(pad("TASK TYPE", 16) + pad("TRAJ", 7) + pad("REWARD", 9) + pad("ADV", 9) + "CORRECT")
            for type in status.rewards.keys.sorted() {
                let stats = status.rewards[type]!
                lines.append(
                    pad(type, 16) + pad("\(stats.trajectories)", 7) + pad(String(format: "%.3f", stats.meanReward), 9)
                        + pad(String(format: "%.3f", stats.meanAdvantage), 9) + "\(stats.correct)")
            }
        }
        let counters = status.counters
        lines.append("")
        lines.append(
            "tool calls \(counters.toolCalls) (\(counters.toolErrors) errors) | requeued \(counters.requeued) | duplicates \(counters.duplicates) | bad frames \(counters.badFrames) | workers lost \(counters.workersLost)")
        return lines.joined(separator: "\n")
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}
