import ArborProtocol
import Foundation
import Testing

@testable import Worker

/// MCP server tools over stdio, against tests/mcp/echo_server.py (official Python MCP SDK).
struct MCPToolTests {
    static let server = PythonToolTests.packageRoot.appendingPathComponent("tests/mcp/echo_server.py").path

    static var pythonMCPInstalled: Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import mcp"]
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }

    @Test("an MCP server's tools join the registry and run like built-ins")
    func serverTools() async throws {
        try #require(Self.pythonMCPInstalled, "python package 'mcp' is not installed: run scripts/install-test-deps")
        var settings = ToolSettings()
        settings.enabled = ["add", "echo", "fail", "calculator"]
        var server = MCPServerSettings(name: "test", command: ["python3", Self.server])
        // Starting Python with the MCP SDK can take seconds on a loaded test machine; the handshake
        // deadline is the server's timeout, so give it room (this test checks function, not speed).
        server.timeoutSeconds = 60
        settings.mcpServers = [server]
        let registry = try await ToolRegistry.build(settings: settings)
        #expect(Set(registry.names) == ["calculator", "add", "echo", "fail"])
        let add = try #require(registry.tool(named: "add"))
        #expect(add.spec.parameters.objectValue?["required"] == ["a", "b"])
        #expect(registry.promptBlock().contains("\"name\":\"add\""))
        let executor = ToolExecutor(registry: registry)
        #expect(await executor.call(ToolCall(name: "add", arguments: ["a": 2, "b": 3])).output == "5")
        #expect(await executor.call(ToolCall(name: "echo", arguments: ["text": "héllo"])).output == "héllo")
        let failed = await executor.call(ToolCall(name: "fail", arguments: ["reason": "nope"]))
        #expect(failed.error?.code == .toolFailed)
        let invalid = await executor.call(ToolCall(name: "add", arguments: ["a": "two", "b": 3]))
        #expect(invalid.error?.code == .invalidArguments)
    }

    @Test("a server that cannot start is a setup error naming it")
    func badServer() async {
        var settings = ToolSettings()
        settings.mcpServers = [MCPServerSettings(name: "ghost", command: ["/nonexistent/server"])]
        do {
            _ = try await ToolRegistry.build(settings: settings)
            Issue.record("expected a setup error")
        } catch let error as ToolError {
            #expect(error.code == .setup)
            #expect(error.message.contains("ghost"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}
