import Foundation

/// The one long-lived thread that ends finished sandboxes: it kills what is left of each
/// (bwrap, its pid namespace, anything the program left running) and waits for it, then runs the
/// process's `onReap`.
///
/// A call returns as soon as its program's exit record arrives (see `SandboxProcess.run`); the
/// namespace teardown that follows costs about as much as the call itself, so it happens here,
/// off the caller's path. Thread-safe; `reap` only enqueues.
final class SandboxReaper: @unchecked Sendable {
    /// The process-wide reaper.
    static let shared = SandboxReaper()

    private let condition = NSCondition()
    private var queue: [SandboxProcess] = []

    private init() {
        let thread = Thread { [unowned self] in serve() }
        thread.name = "arbor-sandbox-reaper"
        thread.start()
    }

    /// Takes over `process` (its caller must not use it again) and ends it in the background.
    func reap(_ process: SandboxProcess) {
        condition.lock()
        queue.append(process)
        condition.signal()
        condition.unlock()
    }

    private func serve() {
        while true {
            condition.lock()
            while queue.isEmpty { condition.wait() }
            let process = queue.removeFirst()
            condition.unlock()
            process.collect()
        }
    }
}
