import Kernels

/// The built-in inference engine: sequences of token ids over one model, decoded together.
///
/// The rollout driver's view:
/// - `createSequence(prompt:)` prefills a prompt and returns a ready sequence;
///   `createSequence(deferring:)` only queues the prompt, which then runs inside the next `step`;
/// - `fork(_:)` makes a branch that shares every cached block of its parent (nothing is copied
///   or recomputed; the first write into a shared, partly filled block copies that block); a
///   fork of a pending parent waits for the parent's tokens to run and then shares them;
/// - `append(_:tokens:)` prefills tokens that were not sampled (a tool response);
///   `append(_:deferring:)` queues them for the next `step`;
/// - `step(_:sampling:using:)` samples one token for each given sequence and, in the next step,
///   runs all those tokens through the model in one batched forward pass (M = number of
///   sequences), so a tree's branches decode together. Deferred prompts and tool responses run in
///   the same pass (continuous batching): a tree that starts or returns from a tool call joins
///   the running batch instead of stalling it for a prefill of its own;
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
    /// What `step`'s forward passes have run so far.
    public private(set) var statistics = EngineBatchStatistics()

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
            blockRowLimit: options.blockRowLimit, quantizedRowLimit: options.quantizedRowLimit, threads: options.threads)
        sampler = Sampler(vocabularySize: h.vocabulary)
    }

    // MARK: - Sequences

    /// Live sequences (released ones that followers still wait on do not count).
    public var liveSequences: Int { sequences.values.count(where: { !$0.released }) }

    /// Cache blocks in use (shared blocks count once), for monitoring prefix sharing.
    public var cacheBlocksInUse: Int { cache.blocksInUse }

    /// Prefills `prompt` (≥ 1 token) into a new ready sequence.
    ///
    /// Throws `.invalidArgument` for an empty prompt, an id outside the vocabulary, a prompt
    /// longer than `maxContext`, or a full cache.
    public func createSequence(prompt: [Int]) throws -> SequenceID {
        let id = try createSequence(deferring: prompt)
        do {
            try flush(id)
        } catch {
            release(id)
            throw error
        }
        return id
    }

    /// A new pending sequence whose `prompt` (≥ 1 token) runs inside the next `step` that
    /// includes it or one of its forks, beside the other sequences' decode rows.
    ///
    /// Throws `.invalidArgument` for an empty prompt, an id outside the vocabulary or a prompt
    /// longer than `maxContext`; a full cache is reported by the `step` that runs it.
    public func createSequence(deferring prompt: [Int]) throws -> SequenceID {
        guard !prompt.isEmpty else { throw WorkerError(.invalidArgument, "a sequence needs at least one prompt token") }
        try validate(prompt, appendingTo: 0)
        let id = SequenceID(rawValue: nextID)
        nextID += 1
        sequences[id.rawValue] = SequenceState(tokens: prompt, pending: prompt)
        return id
    }

    /// A new sequence with the same tokens as `parent`, sharing its cached blocks.
    ///
    /// A fork of a pending parent is a follower: it holds no blocks until the parent's pending
    /// tokens run (in the next `step` that includes the fork), then shares them, so both branches
    /// share those tokens too. The parent may be released meanwhile.
    public func fork(_ parent: SequenceID) throws -> SequenceID {
        let state = try self.state(parent)
        let id = SequenceID(rawValue: nextID)
        nextID += 1
        if let root = state.follows ?? (state.pending.isEmpty ? nil : parent.rawValue) {
            sequences[root]!.followers.append(id.rawValue)
            sequences[id.rawValue] = SequenceState(tokens: state.tokens, follows: root)
        } else {
            cache.retain(state.blocks)
            sequences[id.rawValue] = state
        }
        return id
    }

    /// Runs `tokens` (not sampled: a tool response, a new user turn) through `sequence`, after its
    /// pending tokens if it has any. The sequence is ready afterwards.
    public func append(_ sequence: SequenceID, tokens: [Int]) throws {
        guard !tokens.isEmpty else { return }
        try append(sequence, deferring: tokens)
        try flush(sequence)
    }

    /// Queues `tokens` (a tool response) behind `sequence`'s pending tokens; they run inside the
    /// next `step` that includes it (or one of its forks). Throws `.invalidArgument` for an id
    /// outside the vocabulary or a sequence that would pass `maxContext`.
    public func append(_ sequence: SequenceID, deferring tokens: [Int]) throws {
        guard !tokens.isEmpty else { return }
        var s = try state(sequence)
        // A waiting follower, or a sequence whose forks wait for its tokens, runs alone first:
        // its forks must not see the appended tokens.
        if s.follows != nil || !s.followers.isEmpty {
            try flush(sequence)
            s = try state(sequence)
        }
        try validate(tokens, appendingTo: s.tokens.count)
        s.tokens += tokens
        s.pending += tokens
        s.logits = []
        sequences[sequence.rawValue] = s
    }

    /// Frees `sequence`'s handle and its references to cache blocks. Unknown handles are ignored.
    public func release(_ sequence: SequenceID) {
        guard let state = sequences[sequence.rawValue], !state.released else { return }
        if let root = state.follows {
            sequences.removeValue(forKey: sequence.rawValue)
            sequences[root]?.followers.removeAll { $0 == sequence.rawValue }
            freeIfAbandoned(root)
        } else if !state.followers.isEmpty {
            sequences[sequence.rawValue]!.released = true
        } else {
            sequences.removeValue(forKey: sequence.rawValue)
            cache.release(state.blocks)
        }
    }

    /// Every token of `sequence` (prompt, sampled and appended), or nil for an unknown handle.
    public func tokens(of sequence: SequenceID) -> [Int]? {
        guard let state = sequences[sequence.rawValue], !state.released else { return nil }
        return state.tokens
    }

    /// The next-token logits of a sequence (runs its pending tokens first), `vocabulary` floats.
    public func nextLogits(_ sequence: SequenceID) throws -> [Float] {
        try flush(sequence)
        return try state(sequence).logits
    }

    // MARK: - Decoding

    /// Samples one token for each sequence in `batch` (distinct, live) and appends it.
    ///
    /// The pending tokens of all sequences (sampled tokens, deferred prompts and tool responses,
    /// and the tokens followers wait for) first run through the model together, in passes of at
    /// most `maxBatchRows` rows; then each sequence draws from its next-token distribution, in
    /// `batch` order, from `generator`. Returns one `SampledToken` per sequence, in `batch` order.
    /// Throws `.invalidArgument` for an unknown or repeated handle, a sequence at `maxContext`,
    /// or a full cache.
    public func step(
        _ batch: [SequenceID], sampling: SamplingParameters, using generator: inout some RandomNumberGenerator
    ) throws -> [SampledToken] {
        guard Set(batch).count == batch.count else {
            throw WorkerError(.invalidArgument, "step: a sequence appears twice in the batch")
        }
        var roots: [Int] = []
        for id in batch {
            let s = try state(id)
            guard s.tokens.count < maxContext else {
                throw WorkerError(.invalidArgument, "step: \(id) has reached the context limit of \(maxContext) tokens")
            }
            let root = s.follows ?? id.rawValue
            if !sequences[root]!.pending.isEmpty, !roots.contains(root) { roots.append(root) }
        }
        try runPending(roots)
        let vocabulary = model.hyper.vocabulary
        return batch.map { id in
            let logits = sequences[id.rawValue]!.logits
            precondition(logits.count == vocabulary, "\(id) has no logits after its pending tokens ran")
            return logits.withUnsafeBufferPointer { draw(id, from: $0.baseAddress!, sampling, &generator) }
        }
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
        guard let s = sequences[id.rawValue], !s.released else {
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
        s.pending = [token.id]
        s.tokens.append(token.id)
        s.logits = []
        sequences[id.rawValue] = s
        return token
    }

    /// Runs the pending tokens of `id` (or of the sequence it follows) alone; it becomes ready.
    private func flush(_ id: SequenceID) throws {
        let s = try state(id)
        let root = s.follows ?? id.rawValue
        guard !sequences[root]!.pending.isEmpty else { return }
        try runPending([root])
    }

    /// Runs the pending tokens of `roots` through the model, packed into passes of at most
    /// `maxBatchRows` rows (a long prompt spans passes), then stores each one's next-token
    /// logits and hands its blocks and logits to its followers.
    private func runPending(_ roots: [Int]) throws {
        guard !roots.isEmpty else { return }
        let vocabulary = model.hyper.vocabulary
        var offsets = [Int](repeating: 0, count: roots.count)
        var next = 0
        while next < roots.count {
            var work: [(id: SequenceID, tokens: [Int])] = []
            var finishing: [(root: Int, row: Int)] = []
            var rows = 0
            var decodeRows = 0
            var prefillRows = 0
            while next < roots.count, rows < forward.maxRows {
                let root = roots[next]
                let pending = sequences[root]!.pending
                let take = min(pending.count - offsets[next], forward.maxRows - rows)
                work.append((SequenceID(rawValue: root), Array(pending[offsets[next]..<(offsets[next] + take)])))
                if pending.count == 1 { decodeRows += 1 } else { prefillRows += take }
                rows += take
                offsets[next] += take
                if offsets[next] == pending.count {
                    finishing.append((root, work.count - 1))
                    next += 1
                }
            }
            let logits = try run(work, wantLogits: true)
            statistics.passes += 1
            statistics.decodeRows += decodeRows
            statistics.prefillRows += prefillRows
            if decodeRows > 0 && prefillRows > 0 { statistics.mixedPasses += 1 }
            for (root, row) in finishing {
                sequences[root]!.pending = []
                sequences[root]!.logits = Array(UnsafeBufferPointer(start: logits + row * vocabulary, count: vocabulary))
                handOver(root)
            }
        }
    }

    /// Gives `root`'s followers its blocks, length and logits (they become ready forks), and
    /// frees `root` if its owner has released it.
    private func handOver(_ root: Int) {
        let state = sequences[root]!
        guard !state.followers.isEmpty else { return }
        for follower in state.followers {
            cache.retain(state.blocks)
            var fork = state
            fork.followers = []
            fork.released = false
            sequences[follower] = fork
        }
        sequences[root]!.followers = []
        freeIfAbandoned(root)
    }

    /// Frees a released sequence once no follower waits for it.
    private func freeIfAbandoned(_ root: Int) {
        guard let state = sequences[root], state.released, state.followers.isEmpty else { return }
        sequences.removeValue(forKey: root)
        cache.release(state.blocks)
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
}
