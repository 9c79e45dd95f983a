import ArborProtocol
import Foundation
import Testing

@testable import Worker

/// A dead MCP server is started again with backoff, its calls fail as infrastructure errors
/// meanwhile, and a failing tool never takes its sibling calls down (issue 16). Real servers:
/// tests/mcp/echo_server.py on the official Python MCP SDK.
@Suite(.serialized)
struct MCPServerSupervisorTests {
    /// A server the test can stop from starting: it runs the echo server only while `gate` exists.
    func gatedServer() throws -> (settings: MCPServerSettings, gate: URL) {
        try #require(MCPToolTests.pythonMCPInstalled, "python package 'mcp' is not installed: run scripts/install-test-deps")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("arbor-mcp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let gate = directory.appendingPathComponent("gate")
        try Data().write(to: gate)
        let script = directory.appendingPathComponent("server.sh")
        try "#!/bin/sh\n[ -e '\(gate.path)' ] || exit 3\nexec python3 '\(MCPToolTests.server)'\n"
            .write(to: script, atomically: true, encoding: .utf8)
        chmod(script.path, 0o755)
        var settings = MCPServerSettings(name: "echo", command: [script.path])
        // Python and the MCP SDK can take seconds to start on a loaded machine.
        settings.timeoutSeconds = 60
        return (settings, gate)
    }

    /// Calls `add(2, 3)` until it answers, at most `seconds`; the errors seen before.
    func waitForAnswer(_ server: MCPServerSupervisor, seconds: Double) async -> (answer: String?, errors: [ToolError]) {
        var errors: [ToolError] = []
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            do {
                return (try await server.call("add", arguments: ["a": 2, "b": 3]), errors)
            } catch let error as ToolError {
                errors.append(error)
            } catch {
                break
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return (nil, errors)
    }

    @Test func aKilledServerFailsAsInfrastructureThenServesAgain() async throws {
        let (settings, gate) = try gatedServer()
        defer { try? FileManager.default.removeItem(at: gate.deletingLastPathComponent()) }
        let (server, tools) = try await MCPServerSupervisor.start(settings, initialBackoff: 0.1, maxBackoff: 1)
        defer { server.stop() }
        #expect(tools.map(\.name).contains("add"))
        #expect(try await server.call("add", arguments: ["a": 2, "b": 3]) == "5")

        // The server dies; while it cannot start again, every call fails at once as the
        // infrastructure's fault, and the supervisor keeps trying with growing delays.
        try FileManager.default.removeItem(at: gate)
        let pid = try #require(server.serverPID)
        kill(pid, SIGKILL)
        #expect(await waitUntil(seconds: 30) { !server.isServing })
        var attempts: [Int] = []
        for _ in 0..<20 {
            do {
                _ = try await server.call("add", arguments: ["a": 2, "b": 3])
                Issue.record("a call answered while the server cannot start")
            } catch let error as ToolError {
                #expect(error.code == .infrastructure && error.isInfrastructure, "\(error)")
                if let attempt = error.message.firstMatch(of: /attempt (\d+)/).flatMap({ Int($0.1) }) {
                    attempts.append(attempt)
                }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(attempts == attempts.sorted(), "attempts only grow: \(attempts)")
        #expect((attempts.last ?? 0) > 1, "the supervisor tried more than once: \(attempts)")

        // It can start again: it serves again and counts the restart.
        try Data().write(to: gate)
        let (answer, _) = await waitForAnswer(server, seconds: 90)
        #expect(answer == "5")
        #expect(server.restarts == 1)
    }

    @Test func aServerThatDiesBetweenCallsIsRestartedWithoutACall() async throws {
        let (settings, gate) = try gatedServer()
        defer { try? FileManager.default.removeItem(at: gate.deletingLastPathComponent()) }
        let (server, _) = try await MCPServerSupervisor.start(settings, initialBackoff: 0.1, maxBackoff: 1)
        defer { server.stop() }
        kill(try #require(server.serverPID), SIGKILL)
        #expect(await waitUntil(seconds: 90) { server.restarts == 1 && server.isServing })
        #expect(try await server.call("echo", arguments: ["text": "back"]) == "back")
    }

    /// A tool whose infrastructure is down: a controlled fault for the sibling test.
    struct DownTool: Tool {
        let spec = ToolSpec(name: "down", description: "always down", parameters: ["type": "object"])
        let limits = ToolLimits(timeoutSeconds: 5, concurrency: 1)
        func run(arguments: [String: JSONValue]) async throws -> String {
            throw ToolError(.infrastructure, "fake: the server is down")
        }
    }

    @Test func aFailingToolLeavesItsSiblingCallsRunning() async {
        let executor = ToolExecutor(registry: ToolRegistry([CalculatorTool(), DownTool()]))
        var tracker = ToolFailureTracker(threshold: 0)
        let step = await executor.executeStep("""
            <tool_call>{"name":"down","arguments":{}}</tool_call>
            <tool_call>{"name":"calculator","arguments":{"expression":"6*7"}}</tool_call>
            <tool_call>{"name":"down","arguments":{}}</tool_call>
            <tool_call>{"name":"calculator","arguments":{"expression":"2+2"}}</tool_call>
            """, tracker: &tracker)
        #expect(step.results.map(\.output) == ["", "42", "", "4"])
        #expect(step.results.map { $0.error?.isInfrastructure ?? false } == [true, false, true, false])
    }

    func waitUntil(seconds: Double, _ condition: () -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return condition()
    }
}
