import Synchronization

/// What produces the candidate steps of the trees a `RolloutLoop` grows. Created on the loop
/// thread and used only there.
///
/// - `EngineDecoder` (builtin): one batched engine decode step over every live candidate of
///   every tree per call, token by token; `generate` returns the trees it touched.
/// - `CompletionGenerator` (openai): one HTTP completion request per candidate step, started
///   off the loop thread; the finished step comes back as a `.generated` event, so `generate`
///   starts requests and returns nil (the loop waits for events).
protocol StepGenerator: AnyObject, SendableMetatype {
    associatedtype Store: BranchStore

    /// The model's text side (tokenizer, chat template, stop ids).
    var text: ModelText { get }

    /// The branch store for a new tree of `plan`.
    func store(for plan: TreePlan) -> Store

    /// Advances the live candidates of `trees` (keyed and iterated in key order). Returns the trees
    /// whose candidates changed, for the loop to advance; nil when there was nothing to do now (the
    /// loop then sleeps until the next event). `counters` takes engine steps and busy time.
    func generate(_ trees: [Int: TreeRollout<Store>], counters: borrowing Mutex<EngineUtilization>) -> [TreeRollout<Store>]?

    /// Tree `key` left the loop (finished, failed or cancelled): stop anything still running for it.
    func forget(_ key: Int)
}

extension StepGenerator {
    /// Generators that keep nothing per tree ignore it.
    func forget(_ key: Int) {}
}
