/// The builtin engine's branches: candidates are engine sequences. Engine thread only.
///
/// With prefix sharing a trajectory's prefix is its engine sequence and candidates fork it, so
/// the prompt and shared steps are computed and stored once. Without it (benchmarks) a prefix is
/// only its ids and every candidate re-prefills them. Prompts and tool responses are queued on
/// the engine rather than run at once: they run inside the next batched decode step, beside the
/// other trees' branches (continuous batching).
struct EngineBranches: BranchStore {
    /// A trajectory's context: a live sequence (prefix sharing) or ids to prefill (no sharing).
    enum Prefix {
        case sequence(SequenceID)
        case tokens([Int])
    }

    let engine: InferenceEngine
    let prefixSharing: Bool

    var maxContext: Int { engine.maxContext }

    func prompt(_ ids: [Int]) throws -> Prefix {
        prefixSharing ? .sequence(try engine.createSequence(deferring: ids)) : .tokens(ids)
    }

    func branches(from prefix: Prefix, count: Int) throws -> [SequenceID] {
        var created: [SequenceID] = []
        do {
            switch prefix {
            case .sequence(let parent):
                defer { engine.release(parent) }
                for _ in 0..<count { created.append(try engine.fork(parent)) }
            case .tokens(let ids):
                for _ in 0..<count { created.append(try engine.createSequence(deferring: ids)) }
            }
        } catch {
            created.forEach(engine.release)
            throw error
        }
        return created
    }

    func extend(_ prefix: Prefix, with ids: [Int]) throws -> Prefix {
        switch prefix {
        case .sequence(let sequence):
            do {
                try engine.append(sequence, deferring: ids)
            } catch {
                engine.release(sequence)
                throw error
            }
            return prefix
        case .tokens(let tokens):
            return .tokens(tokens + ids)
        }
    }

    func length(of prefix: Prefix) -> Int {
        switch prefix {
        case .sequence(let sequence): engine.tokens(of: sequence)?.count ?? 0
        case .tokens(let tokens): tokens.count
        }
    }

    /// The sequence already holds the step's tokens (the engine appended them as it sampled).
    func prefix(continuing branch: SequenceID, step: [Int]) -> Prefix {
        if prefixSharing { return .sequence(branch) }
        defer { engine.release(branch) }
        return .tokens(engine.tokens(of: branch) ?? [])
    }

    func release(_ branch: SequenceID) { engine.release(branch) }

    func release(_ prefix: Prefix) {
        if case .sequence(let sequence) = prefix { engine.release(sequence) }
    }
}
