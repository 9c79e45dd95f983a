import ArborProtocol
import Foundation
import Kernels
import Synchronization

/// The policy backend on Arbor's own engine: PORTool trees decoded on one engine thread.
///
/// Requests arrive on backend threads (one per slot). Each builds its prompt, hands the tree to
/// the engine's `RolloutLoop` and blocks until it is done; the loop decodes the live branches of all
/// in-flight trees together in one batched step, while tool calls run on other threads.
/// Branches fork from their parent's sequence, so prompts and shared steps are computed and
/// stored once (`Options.prefixSharing` off re-prefills each branch's context instead, for
/// benchmarks). Thread-safe.
public final class BuiltinBackend: PolicyBackend {
    public let name = "builtin"

    /// Settings of the engine behind the backend.
    public struct Options: Sendable, Equatable {
        /// OpenBLAS threads of the engine.
        public var threads: Int = 2
        /// Fork branches from their parent's KV cache (true) or prefill each from scratch.
        public var prefixSharing = true
        /// KV-cache capacity in tokens across all in-flight trees (shared prefixes count once).
        public var cacheTokens = 65_536
        /// Longest sequence; nil = the model's training context.
        public var maxContext: Int? = nil

        /// The defaults: 2 threads, prefix sharing on.
        public init() {}
    }

    /// The loaded model and the engine thread serving it.
    private struct Loaded: Sendable {
        var path: String
        var tokenizer: Tokenizer
        var template: ChatTemplate
        var loop: RolloutLoop<EngineDecoder>
    }

    /// Which weights to serve: the job's model path (after `configure`), unless a trainer
    /// published weights (`loadPolicy`), which win, also after a re-registration hands the job
    /// over again.
    private struct WeightsChoice: Sendable {
        var preferredModel: String?
        var policyWeights: String?
    }

    private let options: Options
    private let loaded: Mutex<Loaded>
    private let tools = JobTools()
    private let weights = Mutex(WeightsChoice())

    /// Loads the GGUF model at `modelPath` and starts the engine thread.
    ///
    /// Throws `WorkerError` (`.io`, `.badModelFile`, `.unsupported`, `.missingModelData`) naming
    /// the file when the model cannot be loaded.
    public init(modelPath: String, options: Options = Options()) throws {
        self.options = options
        loaded = Mutex(try Self.load(modelPath, options))
    }

    /// A backend over an already loaded `model` (tests share one copy of the weights); the
    /// tokenizer is read from the GGUF file at `modelPath`.
    init(model: LlamaModel, modelPath: String, options: Options = Options()) throws {
        self.options = options
        loaded = Mutex(try Self.start(model, file: try GGUFFile(path: modelPath), path: modelPath, options))
    }

    deinit {
        loaded.withLock { $0.loop.shutdown() }
    }

    /// Takes the job's tools, system prompt and model path. Cheap: the tools are built and a
    /// different model is loaded at the next request. Throws `WorkerError(.configuration)` for a
    /// job that does not parse.
    public func configure(jobYAML: String) throws {
        let config = try tools.configure(jobYAML: jobYAML)
        weights.withLock { $0.preferredModel = config.model.path }
    }

    /// Loads new weights (a GGUF file) for the next requests; in-flight trees finish on the old ones.
    public func loadPolicy(weightsPath: String) throws {
        let fresh = try Self.load(weightsPath, options)
        let old = loaded.withLock { state -> RolloutLoop<EngineDecoder> in
            defer { state = fresh }
            return state.loop
        }
        weights.withLock { $0.policyWeights = weightsPath }
        old.shutdown()
    }

    /// Grows the request's tree; blocks this backend thread until it is done.
    ///
    /// Throws `WorkerError.cancelled` once `cancellation` fires, or the engine's error.
    public func rollout(_ request: RolloutRequest, cancellation: CancellationFlag) throws -> RolloutResult {
        try cancellation.check()
        let model = try currentModel()
        let plan = tools.plan(
            for: request, text: ModelText(tokenizer: model.tokenizer, template: model.template),
            prefixSharing: options.prefixSharing)
        return try model.loop.grow(plan, cancellation: cancellation)
    }

    /// How busy the engine thread has been since the model was loaded. Thread-safe.
    public var utilization: EngineUtilization { loaded.withLock { $0.loop.utilization } }

    /// Tools this worker could not set up for the job (empty before the first request). Thread-safe.
    public var unavailableTools: [String] { tools.unavailable }

    // MARK: - Internals

    /// The loaded model, after switching to the job's model when it names another existing file.
    private func currentModel() throws -> Loaded {
        let preferred = weights.withLock { $0.policyWeights ?? $0.preferredModel }
        return try loaded.withLock { state in
            if let preferred, Self.canonical(preferred) != Self.canonical(state.path),
                FileManager.default.fileExists(atPath: preferred)
            {
                let fresh = try Self.load(preferred, options)
                state.loop.shutdown()
                state = fresh
            }
            return state
        }
    }

    private static func load(_ path: String, _ options: Options) throws -> Loaded {
        let file = try GGUFFile(path: path)
        return try start(try LlamaModel(file: file), file: file, path: path, options)
    }

    private static func start(_ model: LlamaModel, file: GGUFFile, path: String, _ options: Options) throws -> Loaded {
        let tokenizer = try Tokenizer(gguf: file)
        let template = try ChatTemplate(tokenizer: tokenizer)
        var engineOptions = EngineOptions()
        engineOptions.threads = max(1, options.threads)
        engineOptions.cacheTokens = options.cacheTokens
        engineOptions.maxContext = options.maxContext
        let loop = EngineDecoder.loop(
            model: model, text: ModelText(tokenizer: tokenizer, template: template), options: engineOptions)
        return Loaded(path: path, tokenizer: tokenizer, template: template, loop: loop)
    }

    private static func canonical(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
    }
}
