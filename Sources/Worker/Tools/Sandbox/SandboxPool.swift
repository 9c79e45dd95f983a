import ArborProtocol
import Foundation
import Synchronization

/// Python sandboxes spawned ahead of demand: each waits, already set up, for one program on stdin.
///
/// `take()` hands out a waiting sandbox (or spawns one when none is ready), so a call pays
/// neither for the spawn nor for the interpreter start-up; every call still gets a fresh process
/// that exits with it, so nothing leaks between calls. The replacement is spawned once the taken
/// sandbox has been reaped, on another thread: starting it (bwrap's namespaces, an interpreter)
/// takes a core for longer than a trivial call lasts, so starting it at `take()` would make the
/// call it replaces compete with it. When none was waiting, the refill starts at once. Thread-safe.
final class SandboxPool: Sendable {
    private struct State {
        var ready: [SandboxProcess] = []
        /// Spawns reserved but not finished, so concurrent refills never overfill the pool.
        var pending = 0
        /// Set by `shutDown`: no more refills.
        var closed = false
    }

    let command: SandboxCommand
    let size: Int
    /// Every spawn, warm or cold, waits for its turn here.
    let spawnRate: SpawnRateLimit
    private let state = Mutex(State())

    /// A pool of `size` (≥ 0; 0 = always spawn on demand) sandboxes made by `command`, spawned
    /// at most `spawnRate` per second after a burst of `max(size, spawnRate)`; fills it.
    init(command: SandboxCommand, size: Int, spawnRate: Double = .infinity) {
        self.command = command
        self.size = max(0, size)
        self.spawnRate = SpawnRateLimit(
            rate: spawnRate, burst: spawnRate.isFinite ? max(self.size, Int(spawnRate.rounded(.up))) : 1)
        refill()
    }

    /// A sandbox waiting for its program; throws `ToolError(.sandboxUnavailable)` when none is
    /// waiting and none can be spawned.
    func take() throws -> SandboxProcess {
        guard size > 0 else { return try spawn() }
        guard let waiting = state.withLock({ $0.ready.isEmpty ? nil : $0.ready.removeFirst() }) else {
            refillInBackground()
            return try spawn()
        }
        let cleanup = waiting.onReap
        waiting.onReap = { [weak self] in
            cleanup?()
            self?.refillInBackground()
        }
        return waiting
    }

    /// A fresh sandbox, not from the pool (the cold path, also used by the benchmark). Blocks
    /// while the spawn rate is spent.
    func spawn() throws -> SandboxProcess {
        spawnRate.waitForTurn()
        var workDirectory = "/tmp"
        if !command.isSandboxed {
            workDirectory = FileManager.default.temporaryDirectory
                .appendingPathComponent("arbor-python-\(UUID().uuidString)").path
            try? FileManager.default.createDirectory(atPath: workDirectory, withIntermediateDirectories: true)
        }
        let (argv, environment) = command.arguments(workDirectory: workDirectory)
        let process = try SandboxSpawner.shared.spawn(argv, environment: environment, statusPipe: command.exitRecords)
        if !command.isSandboxed {
            process.onReap = { [workDirectory] in try? FileManager.default.removeItem(atPath: workDirectory) }
        }
        return process
    }

    /// Tops the pool up to `size`; a spawn failure leaves it short (the next `take` reports it).
    func refill() {
        while state.withLock({ state in
            guard !state.closed, state.ready.count + state.pending < size else { return false }
            state.pending += 1
            return true
        }) {
            let process = try? spawn()
            let kept = state.withLock { state in
                state.pending -= 1
                guard let process, !state.closed else { return false }
                state.ready.append(process)
                return true
            }
            // A refill that finished after `shutDown` began: its sandbox is not kept.
            if !kept {
                process?.kill()
                return
            }
        }
    }

    /// Tops the pool up on a new thread.
    private func refillInBackground() {
        Thread.detachNewThread { [self] in refill() }
    }

    /// Sandboxes waiting now.
    var readyCount: Int { state.withLock { $0.ready.count } }

    /// Kills the waiting sandboxes.
    func drain() {
        let waiting = state.withLock { state in defer { state.ready.removeAll() }; return state.ready }
        for process in waiting { process.kill() }
    }

    /// Stops refilling, waits (up to `timeout` seconds) for refills in flight, then kills and
    /// reaps every waiting sandbox. Blocks; thread-safe. The pool hands out only cold sandboxes
    /// afterwards.
    func shutDown(timeout: Double = 10) {
        state.withLock { $0.closed = true }
        let deadline = ContinuousClock.now + .milliseconds(Int64(timeout * 1000))
        while state.withLock({ $0.pending > 0 }) && ContinuousClock.now < deadline { usleep(1_000) }
        let waiting = state.withLock { state in defer { state.ready.removeAll() }; return state.ready }
        for process in waiting { process.kill() }
        // Dropping the last reference reaps each one (`SandboxProcess.deinit`).
    }

    deinit { drain() }
}
