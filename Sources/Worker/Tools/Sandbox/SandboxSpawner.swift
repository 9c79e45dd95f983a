import Foundation

/// The one long-lived thread that starts every sandbox process.
///
/// Load-bearing: bwrap's `--die-with-parent` uses PR_SET_PDEATHSIG, which fires when the *thread*
/// that spawned the child exits, not the process. A sandbox spawned from a short-lived thread (a
/// pool refill, a cooperative-pool thread that the runtime retires) would be SIGKILLed at a random
/// moment. Spawning from a thread that lives as long as the process keeps the signal for its real
/// purpose: the worker dying. Thread-safe; `spawn` blocks its caller for the spawn itself (~1 ms).
final class SandboxSpawner: @unchecked Sendable {
    /// The process-wide spawner.
    static let shared = SandboxSpawner()

    private let condition = NSCondition()
    private var queue: [() -> Void] = []

    private init() {
        let thread = Thread { [unowned self] in serve() }
        thread.name = "arbor-sandbox-spawner"
        thread.start()
    }

    /// Spawns `argv` on the spawner thread (see `SandboxProcess.spawn`).
    func spawn(_ argv: [String], environment: [String], statusPipe: Bool = false) throws -> SandboxProcess {
        let done = NSCondition()
        var result: Result<SandboxProcess, any Error>?
        condition.lock()
        queue.append {
            let outcome = Result { try SandboxProcess.spawn(argv, environment: environment, statusPipe: statusPipe) }
            done.lock()
            result = outcome
            done.signal()
            done.unlock()
        }
        condition.signal()
        condition.unlock()
        done.lock()
        while result == nil { done.wait() }
        done.unlock()
        return try result!.get()
    }

    private func serve() {
        while true {
            condition.lock()
            while queue.isEmpty { condition.wait() }
            let job = queue.removeFirst()
            condition.unlock()
            job()
        }
    }
}
