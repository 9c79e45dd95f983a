import ArborProtocol
import Foundation
import MCP

/// One MCP server started over stdio and its client session (modelcontextprotocol/swift-sdk).
///
/// The server runs as a child process for as long as this object lives; its stderr is discarded.
/// Thread-safe: the SDK's `Client` is an actor that matches concurrent requests to replies.
/// A server that dies is started again by its `MCPServerSupervisor`.
public final class MCPServerConnection: Sendable {
    /// The job.yaml entry this server came from.
    public let settings: MCPServerSettings
    let client: Client
    private let process: Process

    private init(settings: MCPServerSettings, client: Client, process: Process) {
        self.settings = settings
        self.client = client
        self.process = process
    }

    /// Starts the server, completes the MCP handshake within `timeout_s`, and returns the
    /// connection with the server's tools. Throws `ToolError(.setup)` naming the server.
    /// `onExit` runs (on a Foundation thread) when the server process exits.
    public static func start(
        _ settings: MCPServerSettings, onExit: @escaping @Sendable () -> Void = {}
    ) async throws -> (MCPServerConnection, [MCP.Tool]) {
        // A server that dies leaves a pipe without a reader: the next write must fail with EPIPE
        // (a tool infrastructure error), not kill the whole worker with SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        let process = Process()
        process.terminationHandler = { _ in onExit() }
        let executable = settings.command[0].contains("/") ? settings.command[0]
            : SandboxCommand.lookUp(settings.command[0], in: ProcessInfo.processInfo.environment["PATH"])
        guard let executable else {
            throw ToolError(.setup, "mcp_servers '\(settings.name)': '\(settings.command[0])' was not found on PATH")
        }
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = Array(settings.command.dropFirst())
        process.environment = ProcessInfo.processInfo.environment.merging(settings.env) { _, new in new }
        let toServer = Pipe(), fromServer = Pipe()
        process.standardInput = toServer
        process.standardOutput = fromServer
        process.standardError = FileHandle.nullDevice
        // A worker that is killed (even with SIGKILL) takes its MCP servers with it.
        do { try ParentDeathSignal.run(process) } catch {
            throw ToolError(.setup, "mcp_servers '\(settings.name)': could not start \(settings.command)", cause: error)
        }
        let transport = HeldOpenTransport(reading: fromServer.fileHandleForReading, writing: toServer.fileHandleForWriting)
        let client = Client(name: "arbor-worker", version: "1.0")
        let connection = MCPServerConnection(settings: settings, client: client, process: process)
        let handshake: Result<[MCP.Tool], ToolError> = await Deadline.race(
            seconds: settings.timeoutSeconds,
            // A server that exits before its handshake fails the start at once (a restart then
            // backs off) instead of holding it for the whole timeout.
            giveUpWhen: { () -> Result<[MCP.Tool], ToolError>? in
                process.isRunning ? nil : .failure(
                    ToolError(.setup, "mcp_servers '\(settings.name)': the server exited with status \(process.terminationStatus) before its handshake"))
            }
        ) {
            do {
                try await client.connect(transport: transport)
                var tools: [MCP.Tool] = []
                var cursor: String? = nil
                repeat {
                    let page = try await client.listTools(cursor: cursor)
                    tools += page.tools
                    cursor = page.nextCursor
                } while cursor != nil
                return .success(tools)
            } catch {
                return .failure(ToolError(.setup, "mcp_servers '\(settings.name)': handshake failed", cause: error))
            }
        } onTimeout: {
            .failure(ToolError(.setup, "mcp_servers '\(settings.name)': no handshake within \(settings.timeoutSeconds) s"))
        }
        switch handshake {
        case .success(let tools): return (connection, tools)
        case .failure(let error):
            connection.stop()
            throw error
        }
    }

    /// Calls `name` on the server; the text of its content blocks joined by newlines. Throws
    /// `ToolError(.toolFailed)` when the server reports `isError` or the request fails.
    func call(_ name: String, arguments: [String: JSONValue]) async throws -> String {
        let converted: [String: Value]
        do {
            converted = try JSONDecoder().decode([String: Value].self, from: JSONEncoder().encode(arguments))
        } catch {
            throw ToolError(.invalidArguments, "arguments of '\(name)' cannot be sent to the MCP server", cause: error)
        }
        let reply: (content: [MCP.Tool.Content], isError: Bool?)
        do {
            reply = try await client.callTool(name: name, arguments: converted)
        } catch {
            throw ToolError(.toolFailed, "MCP server '\(settings.name)' failed to run '\(name)'", cause: error)
        }
        let text = reply.content.map(Self.text(of:)).joined(separator: "\n")
        if reply.isError == true { throw ToolError(.toolFailed, text.isEmpty ? "'\(name)' failed" : text) }
        return text
    }

    private static func text(of content: MCP.Tool.Content) -> String {
        switch content {
        case .text(let text, _, _): text
        case .image(_, let mimeType, _, _): "[image \(mimeType)]"
        case .audio(_, let mimeType, _, _): "[audio \(mimeType)]"
        case .resource(let resource, _, _): "[resource \(resource.uri)]"
        case .resourceLink(let uri, let name, _, _, _, _): "[resource link \(name): \(uri)]"
        }
    }

    /// Whether the server process still runs.
    var isRunning: Bool { process.isRunning }
    /// The server's process id.
    var processID: Int32 { process.processIdentifier }

    /// Stops the server process (SIGTERM, then SIGKILL when it has not exited within 2 s; blocks
    /// until it is gone) and ends the client's read loop, which would otherwise keep polling a
    /// dead pipe.
    public func stop() {
        if process.isRunning {
            process.terminate()
            let deadline = Date().addingTimeInterval(2)
            while process.isRunning && Date() < deadline { usleep(5_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        Task { [client] in await client.disconnect() }
    }

    deinit { stop() }
}

/// Runs work against a wall-clock limit; the slower side's result is dropped.
enum Deadline {
    /// The result of `work`, or of `onTimeout` when `seconds` pass first (then `work` is cancelled).
    /// `giveUpWhen`, checked every 50 ms until one side finishes, ends the race early with its
    /// value when it returns one.
    static func race<T: Sendable>(
        seconds: Double, giveUpWhen: (@Sendable () -> T?)? = nil,
        _ work: @escaping @Sendable () async -> T, onTimeout: @escaping @Sendable () -> T
    ) async -> T {
        let once = OneShot<T>()
        return await withCheckedContinuation { continuation in
            once.arm(continuation)
            let task = Task { once.finish(await work()) }
            Task {
                try? await Task.sleep(for: .seconds(seconds))
                if once.finish(onTimeout()) { task.cancel() }
            }
            if let giveUpWhen {
                Task {
                    while !once.isFinished {
                        if let early = giveUpWhen() {
                            if once.finish(early) { task.cancel() }
                            return
                        }
                        try? await Task.sleep(for: .milliseconds(50))
                    }
                }
            }
        }
    }
}
