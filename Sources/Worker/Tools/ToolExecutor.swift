import ArborProtocol
import Foundation
import Synchronization

/// What executing one assistant step's tool calls produced.
public struct StepToolOutcome: Sendable {
    /// What the parser found.
    public var parsed: ParsedToolCalls
    /// One result per parsed entry, in order (malformed entries get an error result).
    public var results: [ToolResult]
    /// The step's format checks; `format.score` is the step's `format` ∈ [0,1].
    public var format: StepFormatReport
    /// Tools suspended by this step (PruneTIR).
    public var newlySuspended: [String]

    /// The `<tool_response>` blocks, one per result, joined by newlines: the text of the tool turn
    /// that follows the step. Empty for a final-answer step.
    public var responseText: String {
        results.map { "<tool_response>\n\($0.responseText)\n</tool_response>" }.joined(separator: "\n")
    }
}

/// Runs tool calls the way a worker does: parse, check the tool and its arguments, wait for a
/// concurrency slot, run under the tool's timeout, count latency and errors.
///
/// Thread-safe: call from any task; calls of different tools proceed independently and each
/// tool's concurrency limit holds across all callers. Never throws: every failure becomes a
/// `ToolResult` with an error.
public final class ToolExecutor: Sendable {
    /// The tools this executor serves.
    public let registry: ToolRegistry
    /// Latency and error counters, for the worker's status.
    public let stats: ToolStats
    private let slots: [String: ConcurrencyLimit]
    /// Extra seconds past a tool's own timeout before the executor gives up on it (sandboxed tools
    /// kill their process at the timeout; this only catches tools that hang past it).
    static let backstopGrace = 1.0

    /// An executor over `registry`, counting into `stats`.
    public init(registry: ToolRegistry, stats: ToolStats = ToolStats()) {
        self.registry = registry
        self.stats = stats
        var slots: [String: ConcurrencyLimit] = [:]
        for tool in registry.tools { slots[tool.spec.name] = ConcurrencyLimit(limit: tool.limits.concurrency) }
        self.slots = slots
    }

    /// Parses `stepText` and runs its calls concurrently, updating the trajectory's PruneTIR
    /// `tracker` in call order.
    public func executeStep(_ stepText: String, tracker: inout ToolFailureTracker) async -> StepToolOutcome {
        let parsed = ToolCallParser.parse(stepText)
        var report = StepFormatReport()
        report.checks.append(.init(
            name: "tags", call: nil, passed: parsed.tagsWellFormed,
            detail: parsed.tagsWellFormed ? "" : "unbalanced <tool_call> tags"))
        let frozen = tracker
        let results = await withTaskGroup(of: (Int, ToolResult).self) { group in
            for (index, entry) in parsed.entries.enumerated() {
                group.addTask {
                    switch entry {
                    case .failure(let formatError):
                        return (index, ToolResult(
                            name: "", output: "", error: ToolError(.malformedCall, formatError.description), seconds: 0))
                    case .success(let call):
                        if frozen.isSuspended(call.name) {
                            let notice = frozen.suspensionNotice(for: call.name)
                            return (index, ToolResult(
                                name: call.name, output: "", error: ToolError(.suspended, notice), seconds: 0))
                        }
                        return (index, await self.call(call))
                    }
                }
            }
            var ordered = [ToolResult?](repeating: nil, count: parsed.entries.count)
            for await (index, result) in group { ordered[index] = result }
            return ordered.compactMap { $0 }
        }
        var newlySuspended: [String] = []
        var finalResults = results
        for (index, result) in results.enumerated() {
            report.recordCall(index, failedAt: Self.failedCheck(result.error), detail: result.error?.message ?? "")
            guard !result.name.isEmpty, result.error?.code != .suspended else { continue }
            if tracker.record(tool: result.name, failed: !result.ok) {
                newlySuspended.append(result.name)
                finalResults[index].output += (finalResults[index].output.isEmpty ? "" : "\n")
                    + "Note: " + tracker.suspensionNotice(for: result.name)
            }
        }
        return StepToolOutcome(parsed: parsed, results: finalResults, format: report, newlySuspended: newlySuspended)
    }

    /// Runs one already-parsed call: tool lookup, schema check, concurrency slot, timeout.
    public func call(_ call: ToolCall) async -> ToolResult {
        guard let tool = registry.tool(named: call.name) else {
            let known = registry.names.joined(separator: ", ")
            let error = ToolError(.unknownTool, "no tool named '\(call.name)'; available tools: \(known)")
            stats.record(tool: call.name, seconds: 0, error: error.code)
            return ToolResult(name: call.name, output: "", error: error, seconds: 0)
        }
        let violations = SchemaValidator.violations(of: .object(call.arguments), against: tool.spec.parameters)
        if !violations.isEmpty {
            let error = ToolError(
                .invalidArguments, "invalid arguments for '\(call.name)': " + violations.joined(separator: "; "))
            stats.record(tool: call.name, seconds: 0, error: error.code)
            return ToolResult(name: call.name, output: "", error: error, seconds: 0)
        }
        let slot = slots[call.name] ?? ConcurrencyLimit(limit: 1)
        return await slot.withSlot {
            let start = ContinuousClock.now
            let outcome = await Self.run(tool, call.arguments)
            let elapsed = start.duration(to: .now)
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
            switch outcome {
            case .success(let output):
                stats.record(tool: call.name, seconds: seconds, error: nil)
                return ToolResult(name: call.name, output: output, error: nil, seconds: seconds)
            case .failure(let error):
                stats.record(tool: call.name, seconds: seconds, error: error.code)
                return ToolResult(name: call.name, output: "", error: error, seconds: seconds)
            }
        }
    }

    /// Which format check a result's error fails.
    static func failedCheck(_ error: ToolError?) -> String? {
        switch error?.code {
        case nil: nil
        case .malformedCall: "json"
        case .unknownTool: "known_tool"
        case .invalidArguments: "valid_arguments"
        default: "ran_ok"
        }
    }

    /// Runs the tool, giving up `backstopGrace` seconds after its timeout.
    private static func run(_ tool: any Tool, _ arguments: [String: JSONValue]) async -> Result<String, ToolError> {
        let limit = tool.limits.timeoutSeconds
        let once = OneShot<Result<String, ToolError>>()
        return await withCheckedContinuation { continuation in
            once.arm(continuation)
            let work = Task {
                do {
                    once.finish(.success(try await tool.run(arguments: arguments)))
                } catch let error as ToolError {
                    once.finish(.failure(error))
                } catch {
                    once.finish(.failure(ToolError(.toolFailed, "'\(tool.spec.name)' failed", cause: error)))
                }
            }
            Task {
                try? await Task.sleep(for: .seconds(limit + backstopGrace))
                let message = "'\(tool.spec.name)' did not finish within \(limit) s"
                if once.finish(.failure(ToolError(.timeout, message))) { work.cancel() }
            }
        }
    }
}

/// A continuation resumed by whichever of several racers finishes first; thread-safe.
final class OneShot<Value: Sendable>: Sendable {
    private let slot = Mutex<CheckedContinuation<Value, Never>?>(nil)

    /// Stores the continuation to resume.
    func arm(_ continuation: CheckedContinuation<Value, Never>) {
        slot.withLock { $0 = continuation }
    }

    /// Whether the continuation was resumed (or none was armed yet).
    var isFinished: Bool { slot.withLock { $0 == nil } }

    /// Resumes with `value` if nobody did yet; returns whether this call did.
    @discardableResult
    func finish(_ value: Value) -> Bool {
        guard let continuation = slot.withLock({ slot -> CheckedContinuation<Value, Never>? in
            defer { slot = nil }
            return slot
        }) else { return false }
        continuation.resume(returning: value)
        return true
    }
}
