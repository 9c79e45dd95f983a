/// Branches of a generator that takes the whole context with every request (a remote
/// completions server): every handle is just the context's token ids. Thread-safe (a value).
struct TokenBranches: BranchStore {
    /// Longest context the server serves, in tokens.
    let maxContext: Int

    func prompt(_ ids: [Int]) -> [Int] { ids }

    func branches(from prefix: [Int], count: Int) -> [[Int]] { Array(repeating: prefix, count: count) }

    func extend(_ prefix: [Int], with ids: [Int]) -> [Int] { prefix + ids }

    func length(of prefix: [Int]) -> Int { prefix.count }

    /// The server returned only the step, so the context is the branch followed by it.
    func prefix(continuing branch: [Int], step: [Int]) -> [Int] { branch + step }

    func release(_ branch: [Int]) {}
}
