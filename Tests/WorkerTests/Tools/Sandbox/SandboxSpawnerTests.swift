import Foundation
import Testing

@testable import Worker

/// Each sandbox's outer process is PID 1 of a PID namespace of its own, so its death ends
/// everything below it, even what left its process group and session (issue 18).
struct SandboxSpawnerTests {
    /// The pids in `pid`'s NSpid line, outermost namespace first.
    static func namespacePids(_ pid: pid_t) -> [Int] {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("NSpid:") } ?? ""
        return line.split(whereSeparator: \.isWhitespace).dropFirst().compactMap { Int($0) }
    }

    /// Live (not zombie) processes whose command line contains `needle` (starts with it, with
    /// `prefix`). A process spawned a moment ago may be missed: `posix_spawn` returns once the
    /// child's exec has replaced its memory, which is before the kernel records the new program's
    /// arguments, and until then its command line reads empty. Callers poll.
    static func processes(containing needle: String, prefix: Bool = false) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> pid_t? in
            guard let pid = pid_t(entry),
                let cmdline = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"),
                case let text = String(decoding: cmdline.map { $0 == 0 ? 32 : $0 }, as: UTF8.self),
                prefix ? text.hasPrefix(needle) : text.contains(needle),
                let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let state = stat.split(separator: ")").last?.split(separator: " ").first,
                state != "Z"
            else { return nil }
            return pid
        }
    }

    @Test("killing a sandbox's outer process alone ends a grandchild in a session of its own")
    func outerProcessIsANamespaceInit() throws {
        try #require(geteuid() == 0, "creating PID namespaces needs CAP_SYS_ADMIN: run as root")
        // sleep's argument doubles as the tag that finds these processes (sleep takes numbers only).
        let tag = String(Int.random(in: 100_000_000...999_999_999))
        // The shell starts a sleeper in a new session (outside the shell's process group), then waits.
        let process = try SandboxSpawner.shared.spawn(
            ["/bin/sh", "-c", "setsid sleep 9\(tag) & sleep 8\(tag); : \(tag)"],
            environment: ["PATH=/usr/bin:/bin"])
        #expect(SandboxSpawner.shared.isolatesNamespaces)
        let outer = Self.namespacePids(process.pid)
        #expect(outer.count >= 2 && outer.last == 1, "NSpid of the outer process: \(outer)")
        let deadline = ContinuousClock.now + .seconds(10)
        func sleepers() -> Int {
            Self.processes(containing: "sleep 9\(tag)", prefix: true).count
                + Self.processes(containing: "sleep 8\(tag)", prefix: true).count
        }
        while sleepers() < 2 && ContinuousClock.now < deadline { usleep(10_000) }
        #expect(sleepers() == 2)
        // Only the outer process is signalled; the kernel ends the rest of its namespace.
        kill(process.pid, SIGKILL)
        process.collect()
        while !Self.processes(containing: tag).isEmpty && ContinuousClock.now < deadline { usleep(10_000) }
        #expect(Self.processes(containing: tag).isEmpty)
    }
}
