/// Where a tree's branches live while `TreeRollout` grows it: the one thing the tree algorithm
/// needs to know about the generator behind it. Loop thread only.
///
/// Two kinds of handle: a `Prefix` is a trajectory's whole context (prompt, kept steps, tool
/// responses) waiting to branch; a `Branch` is what one candidate step generates from. Handles
/// are owned: every one is handed back exactly once (`branches`, `extend` and `prefix` consume
/// their argument; `release` drops one), so a store that holds memory per handle (KV-cache
/// blocks) frees it at the right moment.
///
/// - `EngineBranches`: Arbor's engine; branches are engine sequences forked from their parent
///   (shared KV blocks) or re-prefilled from ids.
/// - `TokenBranches`: a remote server; handles are just the context's token ids, which each
///   completion request sends in full (the server's prefix cache makes that cheap).
protocol BranchStore {
    /// A trajectory's context, ready to branch.
    associatedtype Prefix
    /// The context one candidate step generates from.
    associatedtype Branch

    /// Longest context in tokens, prompt and steps included.
    var maxContext: Int { get }

    /// The prompt as a prefix. Throws when the generator cannot hold it (cache full, too long).
    func prompt(_ ids: [Int]) throws -> Prefix

    /// `count` branches that continue `prefix`, which is consumed (also when this throws).
    func branches(from prefix: Prefix, count: Int) throws -> [Branch]

    /// `prefix` with `ids` appended (tool responses); consumed (also when this throws).
    func extend(_ prefix: Prefix, with ids: [Int]) throws -> Prefix

    /// Tokens in `prefix`.
    func length(of prefix: Prefix) -> Int

    /// The context after a kept candidate: its branch followed by `step` (its generated ids).
    /// Consumes `branch`.
    func prefix(continuing branch: Branch, step: [Int]) -> Prefix

    /// Drops a branch that will not be used again.
    func release(_ branch: Branch)

    /// Drops a prefix that will not be used again.
    func release(_ prefix: Prefix)
}

/// What the tree algorithm needs of the model's text side: decoding steps, encoding tool
/// responses, and the ids that end a turn. Thread-safe (immutable).
struct ModelText: Sendable {
    let tokenizer: Tokenizer
    let template: ChatTemplate
    /// Ids that end a step: `<|im_end|>` and EOS.
    let stopIDs: Set<Int>

    init(tokenizer: Tokenizer, template: ChatTemplate) {
        self.tokenizer = tokenizer
        self.template = template
        var stopIDs: Set<Int> = [Int(template.turnEndID)]
        if let eos = tokenizer.eosID { stopIDs.insert(Int(eos)) }
        self.stopIDs = stopIDs
    }
}
