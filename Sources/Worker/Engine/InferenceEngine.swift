import Kernels

/// The built-in inference engine: sequences of token ids over one model, decoded together.
///
/// The rollout driver's view:
/// - `createSequence(prompt:)` prefills a prompt and returns a ready sequence;
/// - `fork(_:)` makes a branch that shares every cached block of its parent (nothing is copied
///   or recomputed; the first write into a shared, partly filled block copies that block);
/// - `append(_:tokens:)` prefills tokens that were not sampled (a tool response);
/// - `step(_:sampling:using:)` samples one token for each given sequence and, in the next step,
///   runs all those tokens through the model in one batched forward pass (M = number of
///   sequences), so a tree's branches decode together;
/// - `release(_:)` frees a branch's blocks (shared ones stay while another branch holds them).
///
/// Each sampled token comes with its log-prob under the sampling temperature and the entropy of
/// the full-vocabulary distribution (see `SampledToken`).
///
/// Thread ownership: an engine is not thread-safe. Create it on the thread that runs forward
/// passes (never the I/O thread) and call it only there.
public final class InferenceEngine {
    /// The model, shared read-only.
    public let model: LlamaModel
    /// The settings the engine was made with.
    public let options: EngineOptions
    /// Longest sequence accepted (positions 0..<maxContext).
    public let maxContext: Int
    let cache: KVCache
    let forward: LlamaForwardPass
    let sampler: Sampler
    var sequences: [Int: SequenceState] = [:]
    private var nextID = 0

    /// An engine over `model`. Sets OpenBLAS's thread count to `options.threads`.
    public init(model: LlamaModel, options: EngineOptions = EngineOptions()) {
        let h = model.hyper
        self.model = model
        self.options = options
        maxContext = max(1, options.maxContext ?? h.contextLength)
        BLASThreads.set(options.threads)
        let geometry = AttentionGeometry(heads: h.heads, kvHeads: h.kvHeads, headDim: h.headDim, blockSize: options.blockSize)
        cache = KVCache(geometry: geometry, layers: h.layers, capacityTokens: options.cacheTokens)
        forward = LlamaForwardPass(
            model: model, maxRows: max(1, options.maxBatchRows), maxPositions: maxContext, blockSize: options.blockSize,
            quantizedRowLimit: options.quantizedRowLimit, threads: options.threads)
        sampler = Sampler(vocabularySize: h.vocabulary)
    }

    // MARK: - Sequences

    /// Live sequences.
    public var liveSequences: Int { sequences.count }

    /// Cache blocks in use (shared blocks count once), for monitoring prefix sharing.
    public var cacheBlocksInUse: Int { cache.blocksInUse }

    /// Prefills `prompt` (≥ 1 token) into a new ready sequence.
    ///
    /// Throws `.invalidArgument` for an empty prompt, an id outside the vocabulary, a prompt
    /// longer than `maxContext`, or a full cache.
    public func createSequence(prompt: [Int]) throws -> SequenceID {
        guard !prompt.isEmpty else { throw WorkerError(.invalidArgument, "a sequence needs at least one prompt token") }
        let id = SequenceID(rawValue: nextID)
        nextID += 1
        sequences[id.rawValue] = SequenceState()
        do {
            try prefill(id, prompt)
        } catch {
            release(id)
            throw error
        }
        return id
    }

    /// A new sequence with the same tokens as `parent`, sharing its cached blocks.
    ///
    /// A pending parent is run first (one forward row), so both branches share that token too.
    public func fork(_ parent: SequenceID) throws -> SequenceID {
        try flush(parent)
        let state = try self.state(parent)
        cache.retain(state.blocks)
        let id = SequenceID(rawValue: nextID)
        nextID += 1
        sequences[id.rawValue] = state
        return id
    }

    /// Runs `tokens` (not sampled: a tool response, a new user turn) through `sequence`, after its
    /// pending token if it has one. The sequence is ready afterwards.
    public func append(_ sequence: SequenceID, tokens: [Int]) throws {
        guard !tokens.isEmpty else { return }
        try prefill(sequence, tokens)
    }

    /// Frees `sequence`'s handle and its references to cache blocks. Unknown handles are ignored.
    public func release(_ sequence: SequenceID) {
        guard let state = sequences.removeValue(forKey: sequence.rawValue) else { return }
        cache.release(state.blocks)
    }

    /// Every token of `sequence` (prompt, sampled and appended), or nil for an unknown handle.
    public func tokens(of sequence: SequenceID) -> [Int]? {
        sequences[sequence.rawValue]?.tokens
    }

    /// The next-token logits of a ready sequence (runs a pending token first), `vocabulary` floats.
    public func nextLogits(_ sequence: SequenceID) throws -> [Float] {
        try flush(sequence)
        return try state(sequence).logits
    }

    // MARK: - Decoding

    /// Samples one token for each sequence in `batch` (distinct, live) and appends it.
    ///
    /// Pending tokens of all sequences are first run through the model as one batch; then each
    /// sequence draws from its next-token distribution, in `batch` order, from `generator`.
    /// Returns one `SampledToken` per sequence, in `batch` order. Throws `.invalidArgument` for an
    /// unknown or repeated handle, a sequence at `maxContext`, or a full cache.
    public func step(
        _ batch: [SequenceID], sampling: SamplingParameters, using generator: inout some RandomNumberGenerator
    ) throws -> [SampledToken] {
        guard Set(batch).count == batch.count else {
            throw WorkerError(.invalidArgument, "step: a sequence appears twice in the batch")
        }
        for id in batch {
            let s = try state(id)
            guard s.tokens.count < maxContext else {
                throw WorkerError(.invalidArgument, "step: \(id) has reached the context limit of \(maxContext) tokens")
            }
        }
        let pending = batch.filter { sequences[$0.rawValue]?.pending != nil }
        var logitRows: [Int: UnsafeMutablePointer<Float>] = [:]
        var start = 0
        let vocabulary = model.hyper.vocabulary
        // Pending tokens run in batches of at most maxBatchRows rows; each batch's logits are
        // sampled before the next batch overwrites them.
        var results = [SampledToken?](repeating: nil, count: batch.count)
        let indexOf = Dictionary(uniqueKeysWithValues: batch.enumerated().map { ($1.rawValue, $0) })
        while start < pending.count {
            let chunk = Array(pending[start..<min(pending.count, start + forward.maxRows)])
            let logits = try run(chunk.map { ($0, [sequences[$0.rawValue]!.pending!]) }, wantLogits: true)
            logitRows.removeAll(keepingCapacity: true)
            for (i, id) in chunk.enumerated() {
                var s = sequences[id.rawValue]!
                s.pending = nil
                sequences[id.rawValue] = s
                logitRows[id.rawValue] = logits + i * vocabulary
            }
            for id in chunk {
                results[indexOf[id.rawValue]!] = draw(id, from: logitRows[id.rawValue]!, sampling, &generator)
            }
            start += chunk.count
        }
        for (i, id) in batch.enumerated() where results[i] == nil {
            let logits = sequences[id.rawValue]!.logits
            results[i] = logits.withUnsafeBufferPointer { draw(id, from: $0.baseAddress!, sampling, &generator) }
        }
        return results.map { $0! }
    }

    /// Next-token logits at every position of `tokens`, run as a temporary sequence:
    /// `tokens.count` arrays of `vocabulary` floats. For inspection (`arbor model logits`) and tests.
    public func logitsAtEveryPosition(_ tokens: [Int]) throws -> [[Float]] {
        guard !tokens.isEmpty else { return [] }
        let id = SequenceID(rawValue: nextID)
        nextID += 1
        sequences[id.rawValue] = SequenceState()
        defer { release(id) }
        try validate(tokens, appendingTo: 0)
        var all: [[Float]] = []
        var start = 0
        let vocabulary = model.hyper.vocabulary
        while start < tokens.count {
            let chunk = Array(tokens[start..<min(tokens.count, start + forward.maxRows)])
            let logits = try run([(id, chunk)], wantLogits: true, allRows: true)
            for r in 0..<chunk.count {
                all.append(Array(UnsafeBufferPointer(start: logits + r * vocabulary, count: vocabulary)))
            }
            start += chunk.count
        }
        return all
    }

    // MARK: - Internals

    func state(_ id: SequenceID) throws -> SequenceState {
        guard let s = sequences[id.rawValue] else {
            throw WorkerError(.invalidArgument, "\(id) is not a live sequence of this engine")
        }
        return s
    }

    private func draw(
        _ id: SequenceID, from logits: UnsafePointer<Float>, _ sampling: SamplingParameters,
        _ generator: inout some RandomNumberGenerator
    ) -> SampledToken {
        let token = sampler.sample(logits, parameters: sampling, using: &generator)
        var s = sequences[id.rawValue]!
        s.pending = token.id
        s.tokens.append(token.id)
        s.logits = []
        sequences[id.rawValue] = s
        return token
    }

    /// Runs a pending token alone so the sequence becomes ready.
    private func flush(_ id: SequenceID) throws {
        guard let pending = try state(id).pending else { return }
        var s = sequences[id.rawValue]!
        s.tokens.removeLast()
        s.pending = nil
        sequences[id.rawValue] = s
        try prefill(id, [pending])
    }

    private func validate(_ tokens: [Int], appendingTo length: Int) throws {
        let vocabulary = model.hyper.vocabulary
        if let bad = tokens.first(where: { $0 < 0 || $0 >= vocabulary }) {
            throw WorkerError(.invalidArgument, "token id \(bad) is outside the vocabulary of \(vocabulary)")
        }
        guard length + tokens.count <= maxContext else {
            throw WorkerError(
                .invalidArgument,
                "\(length + tokens.count) tokens exceed the context limit of \(maxContext) (EngineOptions.maxContext)")
        }
    }

    /// Runs `tokens` (after the pending token, if any) through `id` in chunks and stores the
    /// logits after the last one.
    private func prefill(_ id: SequenceID, _ tokens: [Int]) throws {
        var s = try state(id)
        var all = tokens
        if let pending = s.pending {
            all.insert(pending, at: 0)
            s.tokens.removeLast()
            s.pending = nil
        }
        try validate(all, appendingTo: s.length)
        s.tokens += all
        s.logits = []
        sequences[id.rawValue] = s
        let vocabulary = model.hyper.vocabulary
        var start = 0
        while start < all.count {
            let end = min(all.count, start + forward.maxRows)
            let logits = try run([(id, Array(all[start..<end]))], wantLogits: end == all.count)
            if end == all.count {
                sequences[id.rawValue]!.logits = Array(UnsafeBufferPointer(start: logits, count: vocabulary))
            }
            start = end
        }
    }
}
