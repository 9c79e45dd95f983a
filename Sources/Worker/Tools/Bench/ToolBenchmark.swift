import ArborProtocol
import Foundation

/// `arbor bench tools`: latency of a trivial python call cold (a sandbox spawned per call) and
/// warm (from the pool), beside a bare `python3 -c pass` spawn and a bare bwrap spawn measured in
/// the same run, plus calls/s with concurrent callers through the executor.
///
/// A sandboxed call ends when bwrap reports the program's exit (the namespace teardown and the
/// pool's replacement spawn follow off the caller's path); the bare references end when their
/// process has been reaped. Warm calls are spaced by a short pause so the replacement sandbox is
/// ready, as it is when calls arrive slower than one interpreter start-up; the throughput row
/// shows the sustained rate when they do not.
public struct ToolBenchmark: Sendable {
    /// One measured row.
    public struct Row: Sendable, Codable, Equatable {
        /// What was timed.
        public var name: String
        /// Samples taken.
        public var samples: Int
        /// Median, milliseconds.
        public var p50Milliseconds: Double
        /// 99th percentile (nearest rank), milliseconds.
        public var p99Milliseconds: Double

        enum CodingKeys: String, CodingKey {
            case name, samples
            case p50Milliseconds = "p50_ms"
            case p99Milliseconds = "p99_ms"
        }
    }

    /// Everything one run measured.
    public struct Report: Sendable, Codable, Equatable {
        /// Latency rows: references first, then cold and warm sandbox calls.
        public var latency: [Row]
        /// Concurrent callers in the throughput run.
        public var concurrency: Int
        /// Calls completed in the throughput run.
        public var calls: Int
        /// Calls per second through the executor (warm pool of `concurrency`).
        public var callsPerSecond: Double
        /// Whether the sandbox was bubblewrap (false: unsandboxed fallback).
        public var sandboxed: Bool

        enum CodingKeys: String, CodingKey {
            case latency, concurrency, calls
            case callsPerSecond = "calls_per_s"
            case sandboxed
        }
    }

    /// Samples per latency row.
    public var iterations: Int
    /// Concurrent callers in the throughput run.
    public var concurrency: Int
    /// The sandbox limits used.
    public var settings: PythonToolSettings

    /// A benchmark of `iterations` samples per row and `concurrency` callers.
    public init(iterations: Int = 50, concurrency: Int = 8, settings: PythonToolSettings = PythonToolSettings()) {
        self.iterations = max(1, iterations)
        self.concurrency = max(1, concurrency)
        self.settings = settings
    }

    /// Runs every row, reporting progress through `progress` (one line per row). Throws
    /// `ToolError(.sandboxUnavailable)` when the sandbox cannot run.
    public func run(progress: @Sendable (String) -> Void = { _ in }) async throws -> Report {
        var settings = settings
        settings.warmPool = 1
        // The latency of each path is measured, not the job's cap on how often sandboxes start.
        settings.spawnRate = .infinity
        let tool = try PythonTool(settings: settings)
        let trivial: [UInt8] = Array("pass\n".utf8)
        var rows: [Row] = []

        progress("bare python3 -c pass")
        rows.append(try measure("bare python3 -c pass") {
            try SandboxSpawner.shared.spawn([settings.interpreter, "-c", "pass"], environment: ["PATH=/usr/bin:/bin"])
                .run(input: [], timeout: 10, outputCap: 4096, killAfterBytes: 1 << 20)
        })
        if let bwrap = tool.pool.command.bubblewrap {
            progress("bare bwrap spawn (true)")
            let argv = tool.pool.command.arguments(workDirectory: "/tmp", exitRecord: false).argv
            let prefix = Array(argv.prefix { $0 != "--" }) + ["--"]
            rows.append(try measure("bare bwrap + /usr/bin/true") {
                try SandboxSpawner.shared.spawn(prefix + ["/usr/bin/true"], environment: ["PATH=/usr/bin:/bin"])
                    .run(input: [], timeout: 10, outputCap: 4096, killAfterBytes: 1 << 20)
            })
            progress("bare bwrap + python3 -c pass")
            rows.append(try measure("bare bwrap + python3 -c pass") {
                try SandboxSpawner.shared.spawn(prefix + [settings.interpreter, "-c", "pass"], environment: [])
                    .run(input: [], timeout: 10, outputCap: 4096, killAfterBytes: 1 << 20)
            })
            _ = bwrap
        }
        progress("cold sandbox call (spawn per call)")
        rows.append(try measure("python tool, cold (spawn per call)") {
            try tool.pool.spawn().run(input: trivial, timeout: 10, outputCap: 4096, killAfterBytes: 1 << 20)
        })
        progress("warm sandbox call (pool)")
        rows.append(try measure("python tool, warm (pool)", pause: 0.15) {
            try tool.pool.take().run(input: trivial, timeout: 10, outputCap: 4096, killAfterBytes: 1 << 20)
        })

        progress("throughput with \(concurrency) concurrent callers")
        settings.warmPool = concurrency
        settings.concurrency = concurrency
        let executor = ToolExecutor(registry: ToolRegistry([try PythonTool(settings: settings)]))
        try await Task.sleep(for: .milliseconds(500))
        let calls = max(iterations, concurrency * 8)
        let start = ContinuousClock.now
        await withTaskGroup(of: Void.self) { group in
            for caller in 0..<concurrency {
                group.addTask {
                    for _ in stride(from: caller, to: calls, by: concurrency) {
                        _ = await executor.call(ToolCall(name: "python", arguments: ["code": "pass"]))
                    }
                }
            }
        }
        let elapsed = Self.seconds(start.duration(to: .now))
        let failures = executor.stats.snapshot()["python"]?.errors ?? 0
        if failures > 0 { throw ToolError(.toolFailed, "\(failures) of \(calls) benchmark calls failed") }
        return Report(
            latency: rows, concurrency: concurrency, calls: calls, callsPerSecond: Double(calls) / elapsed,
            sandboxed: tool.isSandboxed)
    }

    /// Times `body` `iterations` times (after one warm-up), pausing `pause` seconds between runs;
    /// a run that did not exit 0 fails the row.
    private func measure(_ name: String, pause: Double = 0.02, _ body: () throws -> SandboxOutcome) throws -> Row {
        _ = try body()
        var samples: [Double] = []
        for _ in 0..<iterations {
            Thread.sleep(forTimeInterval: pause)
            let start = ContinuousClock.now
            let outcome = try body()
            samples.append(Self.seconds(start.duration(to: .now)) * 1000)
            guard outcome.exitStatus == 0 else {
                throw ToolError(.toolFailed, "\(name): the benchmark command failed (exit \(outcome.exitStatus.map(String.init) ?? "-"), signal \(outcome.signal.map(String.init) ?? "-"), timed out \(outcome.timedOut)): \(outcome.output.prefix(300))")
            }
        }
        samples.sort()
        let p99 = samples[min(samples.count - 1, Int((0.99 * Double(samples.count)).rounded(.up)) - 1)]
        return Row(name: name, samples: samples.count, p50Milliseconds: samples[samples.count / 2], p99Milliseconds: p99)
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
    }

    /// The report as an aligned text table.
    public static func table(_ report: Report) -> String {
        var lines = ["case                                   p50 ms    p99 ms   samples"]
        for row in report.latency {
            lines.append(row.name.padding(toLength: 36, withPad: " ", startingAt: 0)
                + String(format: "%9.2f %9.2f %9d", row.p50Milliseconds, row.p99Milliseconds, row.samples))
        }
        lines.append(String(format: "throughput: %.1f calls/s with %d concurrent callers (%d calls, warm pool %d)%@",
            report.callsPerSecond, report.concurrency, report.calls, report.concurrency,
            report.sandboxed ? "" : " — UNSANDBOXED"))
        return lines.joined(separator: "\n")
    }
}
