import ArborProtocol
import Foundation
import Synchronization

/// Python sandboxes spawned ahead of demand: each waits, already set up, for one program on stdin.
///
/// `take()` hands out a waiting sandbox (or spawns one when none is ready) and spawns its
/// replacement at once, so a call never pays for the interpreter start-up; every call still gets
/// a fresh process that exits with it, so nothing leaks between calls. Thread-safe.
final class SandboxPool: Sendable {
    let command: SandboxCommand
    let size: Int
    private let ready = Mutex<[SandboxProcess]>([])

    /// A pool of `size` (≥ 0; 0 = always spawn on demand) sandboxes made by `command`; fills it.
    init(command: SandboxCommand, size: Int) {
        self.command = command
        self.size = max(0, size)
        refill()
    }

    /// A sandbox waiting for its program; throws `ToolError(.sandboxUnavailable)` when none can be
    /// spawned.
    func take() throws -> SandboxProcess {
        let waiting = ready.withLock { $0.isEmpty ? nil : $0.removeFirst() }
        refill()
        if let waiting { return waiting }
        return try spawn()
    }

    /// A fresh sandbox, not from the pool (the cold path, also used by the benchmark).
    func spawn() throws -> SandboxProcess {
        var workDirectory = "/tmp"
        if !command.isSandboxed {
            workDirectory = FileManager.default.temporaryDirectory
                .appendingPathComponent("arbor-python-\(UUID().uuidString)").path
            try? FileManager.default.createDirectory(atPath: workDirectory, withIntermediateDirectories: true)
        }
        let (argv, environment) = command.arguments(workDirectory: workDirectory)
        let process = try SandboxProcess.spawn(argv, environment: environment)
        if !command.isSandboxed {
            process.onReap = { [workDirectory] in try? FileManager.default.removeItem(atPath: workDirectory) }
        }
        return process
    }

    /// Tops the pool up to `size`; spawn failures leave it short (the next `take` reports them).
    func refill() {
        while ready.withLock({ $0.count < size }) {
            guard let process = try? spawn() else { return }
            ready.withLock { $0.append(process) }
        }
    }

    /// Kills the waiting sandboxes.
    func drain() {
        let waiting = ready.withLock { pool in defer { pool.removeAll() }; return pool }
        for process in waiting { process.kill() }
    }

    deinit { drain() }
}
