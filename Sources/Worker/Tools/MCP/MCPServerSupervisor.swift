import ArborProtocol
import Foundation
import MCP
import Synchronization

/// Keeps one MCP server serving: starts it, notices when its process exits, and starts it again
/// with exponential backoff. While the server is down or restarting its calls fail at once as
/// `ToolError(.infrastructure)`, so the rollout that made them ends as `tool_infra_error` rather
/// than scoring the model for the server's death, and no call waits on a dead server.
///
/// Thread-safe: the state sits behind a mutex; restarts run as tasks of their own, one at a time.
public final class MCPServerSupervisor: Sendable {
    /// The job.yaml entry of the server.
    public let settings: MCPServerSettings
    /// First restart delay, seconds; it doubles with every failed start up to `maxBackoff`.
    let initialBackoff: Double
    let maxBackoff: Double

    private struct State {
        var connection: MCPServerConnection?
        var restarting = false
        /// Failed starts in a row since the server last served (the backoff exponent).
        var failedStarts = 0
        /// Monotonic time before which no restart is tried.
        var nextStartAt = 0.0
        var restarts = 0
        var stopped = false
    }

    private let state = Mutex(State())

    /// Starts the server and completes its handshake; returns the supervisor and the server's
    /// tools. Throws `ToolError(.setup)` naming the server when the first start fails (a job that
    /// cannot get its server at all should not run).
    public static func start(
        _ settings: MCPServerSettings, initialBackoff: Double = 0.5, maxBackoff: Double = 30
    ) async throws -> (MCPServerSupervisor, [MCP.Tool]) {
        let supervisor = MCPServerSupervisor(settings: settings, initialBackoff: initialBackoff, maxBackoff: maxBackoff)
        let (connection, tools) = try await MCPServerConnection.start(settings) { [weak supervisor] in
            supervisor?.serverExited()
        }
        supervisor.state.withLock { $0.connection = connection }
        return (supervisor, tools)
    }

    private init(settings: MCPServerSettings, initialBackoff: Double, maxBackoff: Double) {
        self.settings = settings
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
    }

    /// Whether the server is up and answering calls.
    public var isServing: Bool { state.withLock { $0.connection?.isRunning ?? false } }
    /// Times the server was started again after it died.
    public var restarts: Int { state.withLock { $0.restarts } }
    /// The server's process id while it runs (for tests that kill it).
    public var serverPID: Int32? { state.withLock { $0.connection?.processID } }

    /// Calls `name` on the server. Throws `ToolError(.infrastructure)` while the server is down
    /// (and starts it again when its backoff allows), `ToolError(.toolFailed)` when the server
    /// answers with an error.
    func call(_ name: String, arguments: [String: JSONValue]) async throws -> String {
        guard let connection = state.withLock({ $0.connection }), connection.isRunning else {
            throw down()
        }
        do {
            return try await connection.call(name, arguments: arguments)
        } catch let error as ToolError where !connection.isRunning {
            // The server died under the call: not the model's doing.
            serverExited()
            throw ToolError(
                .infrastructure, "MCP server '\(settings.name)' died while running '\(name)'; it is being restarted",
                cause: error)
        }
    }

    /// Stops the server for good (no restarts).
    public func stop() {
        let connection = state.withLock { state -> MCPServerConnection? in
            state.stopped = true
            defer { state.connection = nil }
            return state.connection
        }
        connection?.stop()
    }

    deinit { stop() }

    /// The server's process exited: forget the connection and schedule a restart.
    func serverExited() {
        let dead = state.withLock { state -> MCPServerConnection?? in
            guard !state.stopped, state.connection?.isRunning != true else { return .none }
            defer { state.connection = nil }
            return .some(state.connection)
        }
        guard let dead else { return }
        dead?.stop()
        _ = down()
    }

    /// The error of a call while the server is down; starts a restart when none runs and the
    /// backoff has passed.
    private func down() -> ToolError {
        let now = Self.now()
        let (begin, attempt) = state.withLock { state -> (Bool, Int) in
            guard !state.stopped, !state.restarting, state.connection == nil, now >= state.nextStartAt else {
                return (false, state.failedStarts + 1)
            }
            state.restarting = true
            return (true, state.failedStarts + 1)
        }
        if begin { Task { await self.restart() } }
        return ToolError(
            .infrastructure, "MCP server '\(settings.name)' is down; restarting it (attempt \(attempt))")
    }

    private func restart() async {
        do {
            let (connection, _) = try await MCPServerConnection.start(settings) { [weak self] in self?.serverExited() }
            let keep = state.withLock { state -> Bool in
                state.restarting = false
                guard !state.stopped else { return false }
                state.connection = connection
                state.failedStarts = 0
                state.restarts += 1
                return true
            }
            if !keep { connection.stop() }
        } catch {
            let now = Self.now()
            let delay = state.withLock { state -> Double in
                state.restarting = false
                state.failedStarts += 1
                let delay = min(maxBackoff, initialBackoff * pow(2, Double(state.failedStarts - 1)))
                state.nextStartAt = now + delay
                return delay
            }
            // Tried again once the backoff has passed, whether or not a call asks for it.
            Task { [weak self] in
                try? await Task.sleep(for: .seconds(delay))
                _ = self?.down()
            }
        }
    }

    static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}
