import Foundation
import Kernels

/// Throughput of the built-in engine on the shapes a rollout tree produces: prefill of one chat
/// prompt, then aggregate decode of B branches forked from it, all decoded in one batch per step.
///
/// The measurement methodology is shared with scripts/bench-llamacpp.py, which measures llama.cpp
/// on the same GGUF, prompt ids, thread count and step count, so `arbor bench engine` can print
/// the two side by side.
public struct EngineBenchmark: Sendable {
    /// What to run.
    public struct Settings: Sendable {
        /// Prompt token ids (≈ 300 for the standard run).
        public var prompt: [Int]
        /// Branch counts to decode.
        public var branches: [Int] = [1, 4, 8, 16, 32]
        /// Sampled steps per branch.
        public var steps: Int = 64
        /// Prefill repetitions; the best is reported (the first warms caches).
        public var prefillRepeats: Int = 3
        /// OpenBLAS threads.
        public var threads: Int = 2
        /// Sampling seed.
        public var seed: UInt64 = 0
        /// Most rows on the block kernels (nil: the engine's default); for finding the crossover.
        public var quantizedRowLimit: Int? = nil
        /// Most rows on the block kernels before the panel kernels take over (nil: the engine's).
        public var blockRowLimit: Int? = nil

        /// Settings for `prompt`; the rest default to the standard run.
        public init(prompt: [Int]) {
            self.prompt = prompt
        }
    }

    /// Measured throughput.
    public struct Result: Sendable, Codable {
        /// Prompt tokens per second of prefill.
        public var prefillTokensPerSecond: Double
        /// Aggregate sampled tokens per second (B × steps / time) for each B.
        public var decodeTokensPerSecond: [Int: Double]
        /// The instruction path of the quantised kernels (`KernelPath`).
        public var kernelPath: String = KernelPath.best.rawValue
        /// Batches up to this many rows ran on the quantised kernels; larger ones on sgemm.
        public var quantizedRowLimit: Int = 0
        /// With panel kernels: batches up to this many rows ran on the block kernels, larger
        /// ones (up to `quantizedRowLimit`) on the panels. Nil: the path has no panel kernels.
        public var blockRowLimit: Int? = nil
        /// Bytes of the model's weights as held in memory.
        public var weightBytes: Int = 0
        /// Resident set size of the process after the runs, in bytes (nil off Linux).
        public var residentBytes: Int? = nil
        /// How many runs the figures are the best of (see `keepingBest(of:)`).
        public var rounds: Int = 1

        /// The better of each figure of `self` and `other`, for reporting the best of several
        /// rounds: a busy host only ever slows a run down, so the best is the least disturbed.
        public func keepingBest(of other: Self) -> Self {
            var best = self
            best.prefillTokensPerSecond = max(prefillTokensPerSecond, other.prefillTokensPerSecond)
            best.decodeTokensPerSecond.merge(other.decodeTokensPerSecond) { max($0, $1) }
            best.residentBytes = [residentBytes, other.residentBytes].compactMap { $0 }.max()
            best.rounds = rounds + other.rounds
            return best
        }
    }

    /// The model to measure.
    public let model: LlamaModel

    /// A benchmark of `model`.
    public init(model: LlamaModel) {
        self.model = model
    }

    /// Runs the prefill and decode measurements; `progress` receives one line per phase.
    /// Throws what the engine throws (a prompt id outside the vocabulary, for instance).
    public func run(_ settings: Settings, progress: (String) -> Void = { _ in }) throws -> Result {
        var options = EngineOptions()
        options.threads = settings.threads
        if let limit = settings.quantizedRowLimit { options.quantizedRowLimit = limit }
        if let limit = settings.blockRowLimit { options.blockRowLimit = limit }
        let engine = InferenceEngine(model: model, options: options)
        var best = Double.infinity
        for _ in 0..<max(1, settings.prefillRepeats) {
            let start = DispatchTime.now()
            let sequence = try engine.createSequence(prompt: settings.prompt)
            best = min(best, seconds(since: start))
            engine.release(sequence)
        }
        let prefill = Double(settings.prompt.count) / best
        progress(String(format: "prefill: %d tokens, %.1f tok/s", settings.prompt.count, prefill))

        var decode: [Int: Double] = [:]
        var generator = SeededRandom(seed: settings.seed)
        for b in settings.branches {
            let root = try engine.createSequence(prompt: settings.prompt)
            let branches = try (0..<b).map { _ in try engine.fork(root) }
            let start = DispatchTime.now()
            for _ in 0..<settings.steps {
                _ = try engine.step(branches, sampling: SamplingParameters(temperature: 1), using: &generator)
            }
            let elapsed = seconds(since: start)
            decode[b] = Double(b * settings.steps) / elapsed
            for branch in branches { engine.release(branch) }
            engine.release(root)
            progress(String(format: "decode B=%d: %d steps, %.1f tok/s", b, settings.steps, decode[b]!))
        }
        var result = Result(prefillTokensPerSecond: prefill, decodeTokensPerSecond: decode)
        result.quantizedRowLimit = options.quantizedRowLimit
        if QuantizedGemm.hasPanelKernel(.best) { result.blockRowLimit = options.blockRowLimit }
        result.weightBytes = model.weights.residentBytes
        result.residentBytes = ResidentMemory.current()
        return result
    }

    private func seconds(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }
}
