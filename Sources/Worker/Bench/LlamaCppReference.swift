import Foundation

/// Runs llama.cpp (through llama-cpp-python) on the benchmark's shapes, for side-by-side figures.
///
/// The package is installed on first use into a virtual environment (default `.venv-bench/`,
/// gitignored) by `scripts/install-llamacpp`, which builds llama.cpp portably (explicit SIMD
/// flags, no `-march=native`, AMX off; several minutes on two cores, once per set of flags) and
/// records the build in `<venv>/llama-cpp-build.txt`. The measuring script is
/// `scripts/bench-llamacpp.py`; it reports the settings it ran with (unified KV, flash attention,
/// what it timed).
public struct LlamaCppReference: Sendable {
    /// The llama-cpp-python release measured (the one the SmolLM2 fixtures were made with).
    public static let package = "llama-cpp-python[server]==0.3.36"

    /// Where the virtual environment lives.
    public var venv: String
    /// The measuring script.
    public var script: String
    /// The install script (`scripts/install-llamacpp`, shared with `scripts/install-test-deps`).
    public var installer = "scripts/install-llamacpp"

    /// A reference run using `venv` and `script` (paths relative to the working directory).
    public init(venv: String = ".venv-bench", script: String = "scripts/bench-llamacpp.py") {
        self.venv = venv
        self.script = script
    }

    /// llama.cpp's figures: prompt tok/s and aggregate decode tok/s per branch count, with the
    /// settings and the build they were measured with.
    public struct Result: Sendable, Decodable {
        /// Prefill tokens per second.
        public var prefill_tok_s: Double
        /// Aggregate decode tokens per second, keyed by branch count as a string.
        public var decode_tok_s: [String: Double]
        /// The settings the script ran with (`kv_unified`, `flash_attn`, `timing`, …).
        public var settings: [String: String]?
        /// The build measured: the package and its CMAKE_ARGS, from `<venv>/llama-cpp-build.txt`
        /// (set by `run`, not by the script).
        public var build: String?

        /// The better of each figure of `self` and `other` (the best of several rounds).
        public func keepingBest(of other: Self) -> Self {
            var best = self
            best.prefill_tok_s = max(prefill_tok_s, other.prefill_tok_s)
            best.decode_tok_s.merge(other.decode_tok_s) { max($0, $1) }
            return best
        }
    }

    /// The build record `scripts/install-llamacpp` leaves in the venv.
    public var buildRecord: String { "\(venv)/llama-cpp-build.txt" }

    /// Runs the installer, which returns at once when the venv holds the pinned packages and the
    /// build made with the current flags, and otherwise builds (several minutes, once per set of
    /// flags) and installs. `progress` gets a line before it. Throws `.io` when the installer
    /// fails.
    public func ensureInstalled(progress: (String) -> Void) throws {
        progress("checking \(Self.package) in \(venv) (\(installer); a first build takes several minutes)")
        // One install step for the benchmark and the tests (which also run its server).
        guard try Self.execute("/usr/bin/env", ["bash", installer, venv]) == 0 else {
            throw WorkerError(.io, "\(installer) could not install \(Self.package) into \(venv)")
        }
    }

    /// Measures llama.cpp on `model` with the same prompt ids, branch counts, steps and threads.
    public func run(
        model: String, prompt: [Int], branches: [Int], steps: Int, threads: Int
    ) throws -> Result {
        let idsFile = FileManager.default.temporaryDirectory.appendingPathComponent("arbor-bench-ids-\(getpid()).json")
        try Data(("[" + prompt.map(String.init).joined(separator: ",") + "]").utf8).write(to: idsFile)
        defer { try? FileManager.default.removeItem(at: idsFile) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "\(venv)/bin/python")
        process.arguments = [
            script, "--model", model, "--ids-file", idsFile.path,
            "--branches", branches.map(String.init).joined(separator: ","),
            "--steps", String(steps), "--threads", String(threads),
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.standardError
        try ParentDeathSignal.run(process)
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0, let line = String(decoding: data, as: UTF8.self)
            .split(separator: "\n").last
        else {
            throw WorkerError(.io, "\(script) exited with status \(process.terminationStatus)")
        }
        do {
            var result = try JSONDecoder().decode(Result.self, from: Data(line.utf8))
            result.build = (try? String(contentsOfFile: buildRecord, encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines)
            return result
        } catch {
            throw WorkerError(.io, "\(script) printed something other than its JSON result: \(line.prefix(200))")
        }
    }

    /// Runs `path` with `arguments`, its output on standard error (standard output carries the
    /// benchmark's result), and returns its exit status.
    private static func execute(_ path: String, _ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.standardOutput = FileHandle.standardError
        try ParentDeathSignal.run(process)
        process.waitUntilExit()
        return process.terminationStatus
    }
}
