import Foundation
import Testing
import TestSupport

/// Faults across a network, not only between processes (issue 16): the coordinator and three
/// workers run as separate hosts in network namespaces, with CURVE on. One worker is cut off for
/// 20 s and the coordinator is killed and restarted during the cut. Over veth pairs the cut is the
/// link going down; over `ImpairedLink`s (user-space TUN forwarding, since the kernel has no
/// `sch_netem`) every link also has 200 ms ± 50 ms of delay and 5% packet loss, and the cut drops
/// packets silently. The job must end with exactly the rows of a clean loopback run of the same
/// job, each once.
@Suite(.serialized)
struct NetworkFaultTests {
    static let batches = 40
    static let stepLatencyMs = 300
    static let partitionSeconds = 20.0

    /// Each batch file's lines, sorted, by file name.
    func rows(_ cluster: LocalCluster) throws -> [String: [String]] {
        let url = cluster.runDirectory.appendingPathComponent("batches")
        var files: [String: [String]] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: url.path) where name.hasSuffix(".jsonl") {
            let text = try String(contentsOf: url.appendingPathComponent(name), encoding: .utf8)
            files[name] = text.split(separator: "\n").map(String.init).sorted()
        }
        return files
    }

    /// The rows of the same job run cleanly on loopback (more workers: rows do not depend on who
    /// computed them).
    func cleanRows() throws -> [String: [String]] {
        let cluster = try LocalCluster(batches: Self.batches, stepLatencyMs: Self.stepLatencyMs)
        for index in 1...4 { try cluster.startWorker(slots: 4, id: "clean-\(index)") }
        let status = cluster.coordinator.waitForExit(timeout: 120)
        guard status == 0 else {
            throw ClusterError(message: "the clean run failed (\(status.map(String.init) ?? "still running")):\n\(cluster.coordinatorLog.suffix(3000))")
        }
        return try rows(cluster)
    }

    /// Runs the job across `hosts` with a partition of worker 2 and a coordinator restart inside
    /// it, and compares its rows with `clean`.
    func runAcross(_ hosts: NetworkHosts, clean: [String: [String]]) throws {
        let keys = try CurveTests.KeyFolder(workers: 3)
        defer { try? FileManager.default.removeItem(at: keys.url) }
        let cluster = try LocalCluster(
            batches: Self.batches, stepLatencyMs: Self.stepLatencyMs,
            coordinatorArguments: [
                "--curve-secret", keys.path("coordinator.key"), "--authorized-keys", keys.path("authorized_keys"),
            ],
            launcher: hosts.launcher(hosts.coordinatorHost), bindHost: "0.0.0.0")
        let port = String(cluster.workerEndpoint.split(separator: ":").last ?? "")
        for index in 1...3 {
            try cluster.startWorker(
                id: "host-\(index)", extraArguments: keys.workerArguments(index, server: keys),
                connect: hosts.coordinatorEndpoint(forWorker: index, port: port),
                launcher: hosts.launcher(hosts.workerHosts[index - 1]))
        }
        try #require(
            cluster.wait(timeout: 90) { cluster.batchFilesWritten >= 2 }, "no batch written: \(cluster.coordinatorLog.suffix(3000))")

        try hosts.partition(worker: 2)
        let cutAt = Date()
        // The cut is real: the coordinator stops hearing the worker and gives its work to others.
        #expect(
            cluster.coordinator.waitForLine(containing: "worker host-2 missed its heartbeats", timeout: Self.partitionSeconds * 0.3)
                != nil, "\(cluster.coordinator.text.suffix(3000))")
        Thread.sleep(forTimeInterval: max(0, Self.partitionSeconds * 0.4 - Date().timeIntervalSince(cutAt)))
        try cluster.restartCoordinator()
        #expect(cluster.coordinator.waitForLine(containing: "resuming integration", timeout: 10) != nil, "\(cluster.coordinator.text)")
        Thread.sleep(forTimeInterval: max(0, Self.partitionSeconds - Date().timeIntervalSince(cutAt)))
        #expect(cluster.coordinator.isRunning, "the job ended during the partition: it was too short to test healing")
        try hosts.heal(worker: 2)

        let status = cluster.coordinator.waitForExit(timeout: 180)
        #expect(status == 0, "\(cluster.coordinatorLog.suffix(4000))")
        // The cut-off worker came back to the restarted coordinator once the link healed.
        #expect(cluster.coordinator.text.contains("worker host-2 registered"), "\(cluster.coordinator.text.suffix(3000))")

        let written = try rows(cluster)
        #expect(written.keys.sorted() == clean.keys.sorted())
        for (name, lines) in clean {
            #expect(written[name] == lines, "\(name) differs from the clean run")
        }
        let all = written.values.flatMap { $0 }
        #expect(Set(all).count == all.count, "a row was written twice")
    }

    @Test func aPartitionAndACoordinatorRestartAcrossHostsLoseNothing() throws {
        let hosts = try NetworkHosts(workers: 3)
        defer { hosts.remove() }
        try runAcross(hosts, clean: try cleanRows())
    }

    @Test func delayLossAPartitionAndACoordinatorRestartAcrossHostsLoseNothing() throws {
        let impairment = ImpairedLink.Impairment(delayMs: 200, jitterMs: 50, loss: 0.05, seed: 16)
        let hosts = try NetworkHosts(workers: 3, impairment: impairment)
        defer { hosts.remove() }
        try runAcross(hosts, clean: try cleanRows())

        // The impairment really happened, as the links themselves measured it: packets were lost,
        // and held between delay − jitter and at least the nominal delay (so every round trip
        // took ≥ 300 ms). Worker 2's link dropped packets during its cut.
        for (offset, link) in hosts.impairedLinks.enumerated() {
            let counters = try #require(link.stop(), "worker \(offset + 1)'s link printed no counters")
            for direction in counters {
                print(
                    "impaired link \(direction.direction): forwarded \(direction.forwarded), lost \(direction.lost), "
                        + "cut \(direction.cut), held ms min \(direction.delayMsMin ?? 0) mean \(direction.delayMsMean ?? 0) "
                        + "max \(direction.delayMsMax)")
                #expect(direction.lost > 0, "\(direction.direction) lost nothing")
                let shortest = try #require(direction.delayMsMin, "\(direction.direction) forwarded nothing")
                #expect(shortest >= Double(impairment.delayMs - impairment.jitterMs), "\(direction.direction)")
                #expect(direction.delayMsMax >= Double(impairment.delayMs), "\(direction.direction)")
            }
            if offset == 1 { #expect(counters.map(\.cut).reduce(0, +) > 0, "the cut dropped nothing") }
        }
    }
}
