import Foundation
import TestSupport

/// A coordinator host and worker hosts as Linux network namespaces, each worker host joined to
/// the coordinator's by a veth pair of its own: worker `i` (from 1) is 10.77.`i`.2 and sees the
/// coordinator as 10.77.`i`.1. Namespaces are named `arbor-<pid>-<random>-…`, so parallel runs
/// never collide; `remove()` (also on deinit) deletes them, and a later run deletes those a dead
/// test process left behind. Needs root and `ip` (iproute2).
///
/// The links are veth pairs, or with `impairment` `ImpairedLink`s: TUN pairs forwarded by a
/// user-space helper that delays, drops and cuts packets (this kernel, like CI's, has no
/// `sch_netem`). Either way the addresses are the same.
final class NetworkHosts: @unchecked Sendable {
    static let ip = "/usr/sbin/ip"
    private static let prefix = "arbor-"

    let coordinatorHost: String
    let workerHosts: [String]
    /// Worker `i`'s link at `i - 1`, when the links are impaired.
    private(set) var impairedLinks: [ImpairedLink] = []
    private var removed = false

    /// Creates the hosts and their links, impaired ones when `impairment` is given (each link's
    /// loss seeded with `impairment.seed` plus its worker's index). Throws `MissingPrerequisite`
    /// naming what the machine lacks (root, iproute2, namespaces, veth, TUN), after removing
    /// whatever it had made.
    init(workers: Int, impairment: ImpairedLink.Impairment? = nil) throws {
        let name = "\(Self.prefix)\(getpid())-\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
        coordinatorHost = name + "-c"
        workerHosts = (1...workers).map { "\(name)-w\($0)" }
        guard FileManager.default.isExecutableFile(atPath: Self.ip) else {
            throw MissingPrerequisite("\(Self.ip) (iproute2) to make network namespaces")
        }
        Self.removeLeftovers()
        do {
            for host in [coordinatorHost] + workerHosts {
                try Self.run(Self.ip, ["netns", "add", host])
                try Self.run(Self.ip, ["-n", host, "link", "set", "lo", "up"])
            }
            for (offset, host) in workerHosts.enumerated() {
                let link = offset + 1
                if var impairment {
                    impairment.seed += link
                    impairedLinks.append(
                        try ImpairedLink(
                            .init(namespace: coordinatorHost, name: "c\(link)", address: "10.77.\(link).1"),
                            .init(namespace: host, name: "w\(link)", address: "10.77.\(link).2"),
                            impairment: impairment))
                    continue
                }
                // Created straight into the two namespaces: the names only need to be unique there.
                try Self.run(
                    Self.ip,
                    ["link", "add", "c\(link)", "netns", coordinatorHost, "type", "veth", "peer", "name", "w\(link)",
                     "netns", host])
                try Self.run(Self.ip, ["-n", coordinatorHost, "addr", "add", "10.77.\(link).1/24", "dev", "c\(link)"])
                try Self.run(Self.ip, ["-n", host, "addr", "add", "10.77.\(link).2/24", "dev", "w\(link)"])
                try Self.run(Self.ip, ["-n", coordinatorHost, "link", "set", "c\(link)", "up"])
                try Self.run(Self.ip, ["-n", host, "link", "set", "w\(link)", "up"])
            }
        } catch let error as CommandFailed {
            remove()
            throw MissingPrerequisite("network namespaces and veth pairs (run as root with iproute2): \(error)")
        } catch {
            remove()
            throw error
        }
    }

    deinit { remove() }

    /// `ip netns exec` for a host: the command line prefix that runs a program there.
    func launcher(_ host: String) -> [String] { [Self.ip, "netns", "exec", host] }

    /// The coordinator's worker endpoint as worker `index` (from 1) reaches it.
    func coordinatorEndpoint(forWorker index: Int, port: String) -> String { "tcp://10.77.\(index).1:\(port)" }

    /// Cuts worker `index` (from 1) off so that every packet either way is dropped: an impaired
    /// link drops them silently; a veth link goes down at the coordinator's end.
    func partition(worker index: Int) throws {
        if impairedLinks.indices.contains(index - 1) { return try impairedLinks[index - 1].cut() }
        try Self.run(Self.ip, ["-n", coordinatorHost, "link", "set", "c\(index)", "down"])
    }

    /// Brings worker `index`'s link back.
    func heal(worker index: Int) throws {
        if impairedLinks.indices.contains(index - 1) { return try impairedLinks[index - 1].heal() }
        try Self.run(Self.ip, ["-n", coordinatorHost, "link", "set", "c\(index)", "up"])
    }

    /// Deletes the namespaces (their links go with them). Kill the processes in them first.
    func remove() {
        guard !removed else { return }
        removed = true
        for link in impairedLinks { _ = link.stop() }
        for host in [coordinatorHost] + workerHosts {
            _ = try? Self.run(Self.ip, ["netns", "delete", host])
        }
    }

    /// Deletes namespaces this helper made in test processes that no longer run.
    private static func removeLeftovers() {
        guard let listing = try? run(ip, ["netns", "list"]) else { return }
        for line in listing.split(separator: "\n") {
            let name = String(line.split(separator: " ").first ?? "")
            guard name.hasPrefix(prefix), let pid = Int32(name.dropFirst(prefix.count).split(separator: "-").first ?? ""),
                pid != getpid(), kill(pid, 0) != 0, errno == ESRCH
            else { continue }
            _ = try? run(ip, ["netns", "delete", name])
        }
    }

    struct CommandFailed: Error, CustomStringConvertible {
        let description: String
    }

    /// Runs a command to completion; throws `CommandFailed` with its output when it fails.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let command = try ChildProcess(executable, arguments)
        let status = command.waitForExit(timeout: 30)
        // The output handler may still be delivering the last bytes.
        Thread.sleep(forTimeInterval: 0.01)
        guard status == 0 else {
            throw CommandFailed(
                description: "`\(([executable] + arguments).joined(separator: " "))` exited with \(status.map(String.init) ?? "no status"): \(command.text)")
        }
        return command.text
    }
}
