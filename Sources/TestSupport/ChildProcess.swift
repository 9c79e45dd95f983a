import Foundation

/// A real child process started by an integration test: its output is captured line by line
/// so the test can wait for a line, and it is killed when the test ends (`stop()` or deinit).
public final class ChildProcess: @unchecked Sendable {
    public let process = Process()
    private let output = LineBuffer()
    private let pipe = Pipe()

    /// Starts `executable` with `arguments`; stdout and stderr are captured together.
    public init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        process.standardOutput = pipe
        process.standardError = pipe
        let output = self.output
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            guard !data.isEmpty else {
                output.close()
                return
            }
            output.append(String(decoding: data, as: UTF8.self))
        }
        try process.run()
    }

    deinit { stop() }

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }
    public var lines: [String] { output.lines }
    public var text: String { lines.joined(separator: "\n") }

    /// Waits up to `timeout` seconds for a line containing `needle`; returns it.
    @discardableResult
    public func waitForLine(containing needle: String, timeout: Double) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let line = lines.first(where: { $0.contains(needle) }) { return line }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return nil
    }

    /// Sends a signal.
    public func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    /// Waits up to `timeout` seconds for exit; returns the status, or nil if still running.
    public func waitForExit(timeout: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        guard !process.isRunning else { return nil }
        // The process has exited, but the pipe's handler may not have read its last output yet:
        // wait for end of file (briefly: a grandchild that outlives it may hold the pipe open).
        let drained = min(deadline, Date().addingTimeInterval(2))
        while !output.isClosed && Date() < drained { Thread.sleep(forTimeInterval: 0.01) }
        return process.terminationStatus
    }

    /// Kills the process if it still runs and reaps it.
    public func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        pipe.fileHandleForReading.readabilityHandler = nil
    }
}

/// Complete lines of a child's output, appended from the pipe's handler thread.
private final class LineBuffer: @unchecked Sendable {
    private let lock = NSLock()
    private var complete: [String] = []
    private var partial = ""

    func append(_ text: String) {
        lock.withLock {
            partial += text
            var parts = partial.components(separatedBy: "\n")
            partial = parts.removeLast()
            complete += parts
        }
    }

    private var closed = false

    /// The pipe reached end of file: the child and everything holding its output are gone.
    /// A last line without a newline is kept.
    func close() {
        lock.withLock {
            if !partial.isEmpty { complete.append(partial) }
            partial = ""
            closed = true
        }
    }

    var isClosed: Bool { lock.withLock { closed } }

    var lines: [String] { lock.withLock { complete } }
}
