import ArborProtocol
import MCP

/// A tool served by an MCP server: listed in the registry like a built-in, called over the
/// server's stdio session. Thread-safe.
public struct MCPTool: Tool {
    /// The server's name, description and input schema for the tool.
    public let spec: ToolSpec
    /// From the server's `timeout_s` and `concurrency`.
    public let limits: ToolLimits
    let connection: MCPServerConnection

    /// The tool `tool` of `connection`.
    init(_ tool: MCP.Tool, connection: MCPServerConnection) {
        self.connection = connection
        let schema = (try? JSONValue.parse(String(decoding: (try? JSONEncoder().encode(tool.inputSchema)) ?? Data(),
            as: UTF8.self))) ?? ["type": "object"]
        spec = ToolSpec(name: tool.name, description: tool.description ?? "", parameters: schema)
        limits = ToolLimits(timeoutSeconds: connection.settings.timeoutSeconds,
            concurrency: connection.settings.concurrency)
    }

    /// Calls the tool on its server.
    public func run(arguments: [String: JSONValue]) async throws -> String {
        try await connection.call(spec.name, arguments: arguments)
    }
}

import Foundation
