import Foundation
import Coordinator
import Logging
import Synchronization

/// The worker processes `arbor run` starts: each is this same binary running `arbor worker`.
///
/// Workers are started with `--exit-with-parent`, so even a `kill -9` of `arbor run` leaves no
/// worker behind for long. Thread-safe.
final class WorkerFleet: Sendable {
    private let executable: String
    private let backend: String
    private let slots: Int
    private let logLevel: Logger.Level
    private let logFormat: LoggingOptions.LogFormat
    /// Appended to every worker's arguments (CURVE key files).
    private let extraArguments: [String]
    private let processes = Mutex<[Process]>([])

    init(
        executable: String, backend: String, slots: Int, logLevel: Logger.Level,
        logFormat: LoggingOptions.LogFormat = .text, extraArguments: [String] = []
    ) {
        self.executable = executable
        self.backend = backend
        self.slots = slots
        self.logLevel = logLevel
        self.logFormat = logFormat
        self.extraArguments = extraArguments
    }

    /// Starts `count` workers connected to `endpoint`.
    func start(count: Int, endpoint: String) {
        for index in 1...count {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = [
                "worker", "--connect", endpoint, "--backend", backend, "--slots", "\(slots)",
                "--log-level", logLevel == .info ? "warning" : logLevel.rawValue, "--exit-with-parent",
                "--log-format", logFormat.rawValue, "--worker-id", "local-\(getpid())-\(index)",
            ] + extraArguments
            do {
                try process.run()
                processes.withLock { $0.append(process) }
            } catch {
                FileHandle.standardError.write(Data("cannot start worker \(index): \(error)\n".utf8))
            }
        }
    }

    /// Sends SIGTERM to every running worker (they drain and exit).
    func terminateAll() {
        for process in processes.withLock({ $0 }) where process.isRunning {
            kill(process.processIdentifier, SIGTERM)
        }
    }

    /// Waits up to `timeout` seconds for every worker to exit, then kills what is left.
    func waitAll(timeout: Double) {
        let deadline = Date().addingTimeInterval(timeout)
        let all = processes.withLock { $0 }
        while all.contains(where: \.isRunning) && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.05)
        }
        for process in all where process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// Prints `ProgressLine` a few times a second on a terminal (rewriting one line), or every few
/// seconds as plain lines when stderr is a file or pipe.
final class ProgressReporter: Sendable {
    private let running = Atomic<Bool>(true)
    private let finished = DispatchSemaphore(value: 0)

    init(status: @escaping @Sendable () -> JobStatus?) {
        let terminal = isatty(STDERR_FILENO) == 1
        Thread.detachNewThread { [self] in
            var lastLine = ""
            var lastPrinted = Date.distantPast
            while self.running.load(ordering: .relaxed) {
                Thread.sleep(forTimeInterval: terminal ? 0.25 : 1)
                guard let snapshot = status() else { continue }
                let line = ProgressLine.text(snapshot)
                if terminal {
                    FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
                } else if line != lastLine && Date().timeIntervalSince(lastPrinted) >= 5 {
                    FileHandle.standardError.write(Data((line + "\n").utf8))
                    lastPrinted = Date()
                }
                lastLine = line
            }
            if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
            self.finished.signal()
        }
    }

    func stop() {
        running.store(false, ordering: .relaxed)
        finished.wait()
    }
}
