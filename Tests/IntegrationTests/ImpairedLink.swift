import Foundation
import TestSupport

/// A point-to-point link between two network namespaces with delay, jitter, loss and a cut,
/// made in user space where the kernel has no `sch_netem`: `Support/impaired_link.py` owns a
/// pair of TUN devices, one moved into each namespace, and forwards IP packets between them,
/// impairing each (its header says how: order is kept per direction, loss draws are seeded).
/// It dies with the test process, and its interfaces with it.
final class ImpairedLink: @unchecked Sendable {
    /// What every packet meets on the way; zero everywhere is a clean link.
    struct Impairment: Sendable {
        var delayMs = 0
        var jitterMs = 0
        var loss = 0.0
        var seed = 1
    }

    /// One end: the interface `name` in `namespace`, with `address` (its peer is the other end's).
    struct End: Sendable {
        let namespace: String
        let name: String
        let address: String
    }

    /// What one direction of the link saw, as the helper measured it: packets forwarded, lost
    /// to the loss draw, dropped by a cut, and how long forwarded packets were held (ms).
    struct DirectionCounters: Decodable, Sendable {
        let direction: String
        let forwarded: Int
        let lost: Int
        let cut: Int
        let delayMsMin: Double?
        let delayMsMean: Double?
        let delayMsMax: Double

        enum CodingKeys: String, CodingKey {
            case direction, forwarded, lost, cut
            case delayMsMin = "delay_ms_min"
            case delayMsMean = "delay_ms_mean"
            case delayMsMax = "delay_ms_max"
        }
    }

    static let script = Fixtures.packageRoot.appendingPathComponent("Tests/IntegrationTests/Support/impaired_link.py").path
    private static let python = ["/usr/bin/env", "python3"]
    private let helper: ChildProcess
    private var counters: [DirectionCounters]?

    /// Makes the link and waits until both ends are up. Throws `MissingPrerequisite` naming what
    /// is missing (python3, `/dev/net/tun`, iproute2) when the helper cannot make it.
    init(_ first: End, _ second: End, impairment: Impairment) throws {
        var arguments = [Self.script]
        for end in [first, second] { arguments += ["--end", end.namespace, end.name, end.address] }
        arguments += [
            "--delay-ms", "\(impairment.delayMs)", "--jitter-ms", "\(impairment.jitterMs)",
            "--loss", "\(impairment.loss)", "--seed", "\(impairment.seed)",
        ]
        do {
            helper = try ChildProcess(Self.python[0], Array(Self.python.dropFirst()) + arguments)
        } catch {
            throw MissingPrerequisite("\(Self.python.joined(separator: " ")) to run \(Self.script): \(error)")
        }
        guard helper.waitForLine(containing: "ready", timeout: 15) != nil else {
            helper.stop()
            throw MissingPrerequisite(
                "an impaired link over TUN devices (python3, /dev/net/tun and iproute2, as root): \(helper.text)")
        }
    }

    deinit { _ = stop() }

    /// Drops every packet either way, held ones included, until `heal()`; returns once it holds.
    func cut() throws { try signal(SIGUSR1, expecting: "cut") }

    /// Forwards packets again.
    func heal() throws { try signal(SIGUSR2, expecting: "healed") }

    private func signal(_ number: Int32, expecting line: String) throws {
        let seen = helper.lines.filter { $0 == line }.count
        helper.signal(number)
        let deadline = Date().addingTimeInterval(5)
        while helper.lines.filter({ $0 == line }).count == seen {
            guard Date() < deadline else {
                throw ClusterError(message: "the impaired link did not answer `\(line)`: \(helper.text)")
            }
            Thread.sleep(forTimeInterval: 0.01)
        }
    }

    /// Ends the link (its interfaces go with it) and returns both directions' counters; nil
    /// when the helper printed none.
    func stop() -> [DirectionCounters]? {
        if let counters { return counters }
        helper.signal(SIGTERM)
        _ = helper.waitForExit(timeout: 5)
        // The output handler may still be delivering the last line.
        let summary = helper.waitForLine(containing: "{\"counters\"", timeout: 1)
        helper.stop()
        struct Summary: Decodable { let counters: [DirectionCounters] }
        counters = summary.flatMap { try? JSONDecoder().decode(Summary.self, from: Data($0.utf8)).counters }
        return counters
    }
}
