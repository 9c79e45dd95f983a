import ArborProtocol
import Foundation
import Testing

@testable import Worker

/// Step execution: format checks and score, tool responses, concurrency limits, timeouts, stats and
/// PruneTIR suspension.
struct ToolExecutorTests {
    /// A tool that sleeps, fails on demand, and records how many calls ran at once.
    final class ProbeTool: Tool, @unchecked Sendable {
        let spec = ToolSpec(name: "probe", description: "test probe", parameters: [
            "type": "object", "properties": ["fail": ["type": "boolean"], "sleep": ["type": "number"]],
            "additionalProperties": false,
        ])
        let limits: ToolLimits
        let lock = NSLock()
        var running = 0
        var peak = 0

        init(concurrency: Int = 2, timeout: Double = 5) {
            limits = ToolLimits(timeoutSeconds: timeout, concurrency: concurrency)
        }

        func run(arguments: [String: JSONValue]) async throws -> String {
            lock.withLock { running += 1; peak = max(peak, running) }
            defer { lock.withLock { running -= 1 } }
            if let seconds = arguments["sleep"]?.numberValue { try? await Task.sleep(for: .seconds(seconds)) }
            if arguments["fail"] == .bool(true) { throw ToolError(.toolFailed, "asked to fail") }
            return "ok"
        }
    }

    @Test("format score is the fraction of checks passed; responses wrap each result")
    func formatScore() async {
        let executor = ToolExecutor(registry: ToolRegistry([CalculatorTool(), ProbeTool()]))
        var tracker = ToolFailureTracker(threshold: 0)
        let good = await executor.executeStep(
            #"<tool_call>{"name":"calculator","arguments":{"expression":"6*7"}}</tool_call>"#, tracker: &tracker)
        #expect(good.format.score == 1)
        #expect(good.format.checks.count == 5)
        #expect(good.responseText == "<tool_response>\n42\n</tool_response>")

        let mixed = await executor.executeStep("""
            <tool_call>{"name":"calculator","arguments":{"expression":"1+"}}</tool_call>
            <tool_call>{"name":"nope","arguments":{}}</tool_call>
            <tool_call>{"name":"probe","arguments":{"bad":1}}</tool_call>
            <tool_call>not json</tool_call>
            """, tracker: &tracker)
        // tags ok (1) + calc: 3 pass 1 fail + unknown: 1 pass + probe: 2 pass + bad json: 0 → 7 of 17.
        #expect(mixed.format.checks.count == 17)
        #expect(abs(mixed.format.score - 7.0 / 17.0) < 1e-12)
        #expect(mixed.results.map { $0.error?.code } == [.toolFailed, .unknownTool, .invalidArguments, .malformedCall])
        #expect(mixed.responseText.components(separatedBy: "<tool_response>").count == 5)
        #expect(mixed.results[1].responseText.contains("available tools: calculator, probe"))

        let answer = await executor.executeStep("The answer is 42.", tracker: &tracker)
        #expect(answer.format.score == 1)
        #expect(answer.responseText.isEmpty)
        #expect(!answer.parsed.isToolStep)
    }

    @Test("per-tool concurrency limit holds across callers")
    func concurrencyLimit() async {
        let probe = ProbeTool(concurrency: 2)
        let executor = ToolExecutor(registry: ToolRegistry([probe]))
        await withTaskGroup(of: ToolResult.self) { group in
            for _ in 0..<8 { group.addTask { await executor.call(ToolCall(name: "probe", arguments: ["sleep": 0.05])) } }
            for await result in group { #expect(result.ok) }
        }
        #expect(probe.peak == 2)
        #expect(executor.stats.snapshot()["probe"]?.calls == 8)
    }

    @Test("a tool that hangs past its timeout is given up with a timeout error and counted")
    func timeout() async {
        let executor = ToolExecutor(registry: ToolRegistry([ProbeTool(timeout: 0.1)]))
        let start = ContinuousClock.now
        let result = await executor.call(ToolCall(name: "probe", arguments: ["sleep": 30]))
        #expect(result.error?.code == .timeout)
        // Containment, not speed: the tool would sleep 30 s; returning well before shows it was cut
        // off, however loaded the machine is.
        #expect(start.duration(to: .now) < .seconds(25))
        let stats = executor.stats.snapshot()["probe"]
        #expect(stats?.timeouts == 1)
        #expect(stats?.errors == 1)
    }

    @Test("PruneTIR: K consecutive failures suspend the tool for the trajectory; a fork copies the state")
    func suspension() async {
        let executor = ToolExecutor(registry: ToolRegistry([ProbeTool()]))
        let failing = #"<tool_call>{"name":"probe","arguments":{"fail":true}}</tool_call>"#
        let passing = #"<tool_call>{"name":"probe","arguments":{}}</tool_call>"#
        var tracker = ToolFailureTracker(threshold: 2)
        _ = await executor.executeStep(failing, tracker: &tracker)
        _ = await executor.executeStep(passing, tracker: &tracker)
        _ = await executor.executeStep(failing, tracker: &tracker)
        #expect(!tracker.isSuspended("probe"), "a success in between resets the count")
        let second = await executor.executeStep(failing, tracker: &tracker)
        #expect(second.newlySuspended == ["probe"])
        #expect(second.responseText.contains("suspended"))
        var child = tracker
        let refused = await executor.executeStep(passing, tracker: &child)
        #expect(refused.results.first?.error?.code == .suspended)
        var off = ToolFailureTracker(threshold: 0)
        for _ in 0..<5 { _ = await executor.executeStep(failing, tracker: &off) }
        #expect(!off.isSuspended("probe"))
    }

    @Test("prompt block lists tools as OpenAI functions inside <tools>")
    func promptBlock() {
        let block = ToolRegistry([CalculatorTool()]).promptBlock()
        #expect(block.contains("<tools>\n{\"function\":{\"description\":"))
        #expect(block.contains("\"name\":\"calculator\""))
        #expect(block.contains("\"type\":\"function\"}\n</tools>"))
        #expect(block.contains("<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call>"))
        #expect(ToolRegistry([]).promptBlock().isEmpty)
    }

    @Test("latency percentiles come from the histogram")
    func stats() {
        let stats = ToolStats()
        for index in 1...100 { stats.record(tool: "t", seconds: Double(index) / 1000, error: index == 1 ? .timeout : nil) }
        let snapshot = stats.snapshot()["t"]
        #expect(snapshot?.calls == 100)
        #expect(snapshot?.errorsByCode == ["timeout": 1])
        #expect(abs((snapshot?.p50Seconds ?? 0) - 0.050) < 0.015)
        #expect(abs((snapshot?.p99Seconds ?? 0) - 0.099) < 0.03)
    }
}
