import ArborProtocol
import Foundation

/// The `python` tool: runs model-written code in a fresh bubblewrap sandbox from a warm pool.
///
/// Limits come from `tools.python` (see `SandboxCommand` for the isolation). Each call: take a
/// waiting sandbox, send the code, collect up to `max_output_bytes` of stdout+stderr (cut with a
/// marker), kill the process group at `timeout_s`. Failures the model should see (non-zero exit,
/// CPU or memory limit, timeout, output flood) are thrown as `ToolError`s carrying the output.
/// Thread-safe; each call blocks one dedicated thread while its sandbox runs.
public final class PythonTool: Tool {
    /// Name, description and `{"code": string}` schema.
    public let spec = PythonTool.specification

    /// The python tool's spec (also listed when the sandbox is unavailable).
    static let specification = ToolSpec(
        name: "python",
        description: "Run a Python 3 program in a fresh sandbox and return what it prints (stdout and stderr). "
            + "No network; only /tmp is writable; state is not kept between calls. Use print() to show results.",
        parameters: [
            "type": "object",
            "properties": ["code": ["type": "string", "description": "The complete Python program to run."]],
            "required": ["code"],
            "additionalProperties": false,
        ])
    /// From `tools.python.timeout_s` and `concurrency`.
    public let limits: ToolLimits
    let settings: PythonToolSettings
    let pool: SandboxPool

    /// A python tool for `settings`; starts the warm pool. Throws `ToolError(.sandboxUnavailable)`
    /// when bwrap is missing (looked up on `searchPath`, default `PATH`) and
    /// `allow_unsandboxed` is off, or the interpreter is missing.
    public init(settings: PythonToolSettings, searchPath: String? = nil) throws {
        self.settings = settings
        limits = ToolLimits(timeoutSeconds: settings.timeoutSeconds, concurrency: settings.concurrency)
        pool = SandboxPool(
            command: try SandboxCommand(settings: settings, searchPath: searchPath), size: settings.warmPool,
            spawnRate: settings.spawnRate)
    }

    /// Whether calls run inside bubblewrap (false only with `allow_unsandboxed` and no bwrap).
    public var isSandboxed: Bool { pool.command.isSandboxed }

    /// Runs `arguments["code"]`; returns its output or throws a `ToolError`.
    public func run(arguments: [String: JSONValue]) async throws -> String {
        guard let code = arguments["code"]?.stringValue else {
            throw ToolError(.invalidArguments, "python needs a 'code' string")
        }
        return try interpret(await execute(code: code, warm: true))
    }

    /// Runs `code` in a pooled (`warm`) or freshly spawned sandbox and returns the raw outcome.
    /// Taking the sandbox (which may wait for the spawn rate) and running it block a thread of
    /// their own, never one of the cooperative pool.
    func execute(code: String, warm: Bool) async throws -> SandboxOutcome {
        let (pool, settings) = (pool, settings)
        return try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result {
                    let process = try warm ? pool.take() : pool.spawn()
                    return process.run(
                        input: Array(code.utf8), timeout: settings.timeoutSeconds, outputCap: settings.maxOutputBytes,
                        killAfterBytes: max(1 << 20, settings.maxOutputBytes * 16))
                })
            }
        }
    }

    /// Turns a sandbox outcome into the model's output, or a `ToolError` for a failed run.
    func interpret(_ outcome: SandboxOutcome) throws -> String {
        var text = outcome.output
        if outcome.truncated {
            let shown = outcome.output.utf8.count + outcome.tail.utf8.count
            text += "\n…[output truncated: showed \(shown) of \(outcome.totalBytes) bytes]…\n" + outcome.tail
        }
        if outcome.timedOut {
            throw ToolError(.timeout, "the program ran past the \(settings.timeoutSeconds) s time limit and was killed"
                + Self.tail(text))
        }
        if outcome.outputFlood {
            throw ToolError(.limitExceeded, "the program printed more than \(outcome.totalBytes >> 10) KiB and was killed"
                + Self.tail(text))
        }
        var signal = outcome.signal
        if isSandboxed, let status = outcome.exitStatus, status > 128 { signal = status - 128 }
        if let signal {
            let reason = signal == SIGXCPU ? "used more than its \(settings.cpuSeconds) s of CPU time"
                : signal == SIGXFSZ ? "wrote a file larger than \(settings.maxFileMB) MiB"
                : "was killed by signal \(signal)"
            throw ToolError(.limitExceeded, "the program \(reason)" + Self.tail(text))
        }
        if let status = outcome.exitStatus, status != 0 {
            if text.contains("MemoryError") {
                throw ToolError(.limitExceeded, "the program ran out of its \(settings.memoryMB) MiB of memory"
                    + Self.tail(text))
            }
            throw ToolError(.toolFailed, "the program exited with status \(status)" + Self.tail(text))
        }
        return text
    }

    private static func tail(_ text: String) -> String {
        text.isEmpty ? "" : ":\n" + text
    }
}
