import ArborProtocol
import MCP

/// A tool served by an MCP server: listed in the registry like a built-in, called over the
/// server's stdio session. Thread-safe.
public struct MCPTool: Tool {
    /// The server's name, description and input schema for the tool.
    public let spec: ToolSpec
    /// From the server's `timeout_s` and `concurrency`.
    public let limits: ToolLimits
    let server: MCPServerSupervisor

    /// The tool `tool` of the server `server` keeps running.
    init(_ tool: MCP.Tool, server: MCPServerSupervisor) {
        self.server = server
        let schema = (try? JSONValue.parse(String(decoding: (try? JSONEncoder().encode(tool.inputSchema)) ?? Data(),
            as: UTF8.self))) ?? ["type": "object"]
        spec = ToolSpec(name: tool.name, description: tool.description ?? "", parameters: schema)
        limits = ToolLimits(timeoutSeconds: server.settings.timeoutSeconds,
            concurrency: server.settings.concurrency)
    }

    /// Calls the tool on its server; `ToolError(.infrastructure)` while the server is down.
    public func run(arguments: [String: JSONValue]) async throws -> String {
        try await server.call(spec.name, arguments: arguments)
    }
}

import Foundation
