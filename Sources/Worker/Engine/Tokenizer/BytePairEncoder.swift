/// Byte-level BPE merges over one pre-token word: the word's bytes start as one symbol each and
/// the adjacent pair with the lowest merge rank is merged until no listed pair remains.
///
/// Matches `llm_tokenizer_bpe_session::tokenize` in
/// https://github.com/ggml-org/llama.cpp/blob/00ad355e009e83abf98f96a6ded7193b95763681/src/llama-vocab.cpp:
/// - ties between equal ranks break towards the leftmost pair (its queue orders by rank, then by
///   the left symbol's index), which is also what Hugging Face tokenizers' `Word::merge_all` does;
/// - a merge applies even when its result is not a vocabulary token; such a final symbol is
///   emitted as the tokens of its single bytes of alphabet text, skipping bytes with no token
///   (llama.cpp's fallback), so ids stay exactly llama.cpp's even for odd vocabularies;
/// - a merge line `a b` splits at the first space after its first byte, and the first of
///   duplicate lines keeps its rank (`std::map::emplace`).
///
/// Symbols are integers rather than strings: a vocabulary token's id, or, for a merge result or
/// byte character missing from the vocabulary, an id past the vocabulary's end.
struct BytePairEncoder: Sendable {
    /// The rank and result of merging one ordered pair of symbols.
    private struct Merge: Sendable {
        var rank: Int32
        var result: Int32
    }

    /// Number of vocabulary tokens; symbols at or past it are not tokens.
    private let tokenCount: Int32
    /// The symbol of each byte value's alphabet character.
    private let byteSymbols: [Int32]
    /// Merges keyed by `left << 32 | right` (both symbols as UInt32).
    private let merges: [UInt64: Merge]
    /// For symbols past the vocabulary: the token ids emitted in their place (llama.cpp's
    /// single-byte fallback), indexed by `symbol - tokenCount`.
    private let fallbackTokens: [[Int32]]

    /// Builds the merge table.
    ///
    /// - Parameters:
    ///   - tokenIDs: token text (alphabet form) → id; where texts repeat, the caller keeps the
    ///     last id, as llama.cpp's `token_to_id` does.
    ///   - tokenCount: number of tokens in the vocabulary.
    ///   - mergeLines: `tokenizer.ggml.merges`, one `left right` pair per line, by rank.
    /// - Throws: `WorkerError.badModelFile` for a merge line with no separating space.
    init(tokenIDs: [String: Int32], tokenCount: Int, mergeLines: [String]) throws {
        var extraSymbols: [String: Int32] = [:]
        var extraTexts: [String] = []
        func symbol(for text: String) -> Int32 {
            if let id = tokenIDs[text] { return id }
            if let id = extraSymbols[text] { return id }
            let id = Int32(tokenCount + extraTexts.count)
            extraSymbols[text] = id
            extraTexts.append(text)
            return id
        }

        byteSymbols = (0...255).map { symbol(for: ByteLevelAlphabet.text(forByte: UInt8($0))) }
        var merges: [UInt64: Merge] = [:]
        merges.reserveCapacity(mergeLines.count)
        for (rank, line) in mergeLines.enumerated() {
            let utf8 = Array(line.utf8)
            guard utf8.count > 1, let split = utf8[1...].firstIndex(of: UInt8(ascii: " ")) else {
                throw WorkerError(.badModelFile, "tokenizer.ggml.merges[\(rank)] is \"\(line)\", not two tokens joined by a space")
            }
            let left = String(decoding: utf8[..<split], as: UTF8.self)
            let right = String(decoding: utf8[(split + 1)...], as: UTF8.self)
            let key = Self.key(symbol(for: left), symbol(for: right))
            if merges[key] == nil {
                merges[key] = Merge(rank: Int32(rank), result: symbol(for: left + right))
            }
        }
        self.merges = merges
        self.tokenCount = Int32(tokenCount)
        self.fallbackTokens = extraTexts.map { text in
            text.utf8.compactMap { byte in tokenIDs[String(decoding: [byte], as: UTF8.self)] }
        }
    }

    /// The token ids of one word, given as its raw UTF-8 bytes, appended to `output`.
    ///
    /// - Complexity: O(n log n) in the word's length (a heap of candidate pairs, stale entries
    ///   skipped when popped).
    func encode(word: ArraySlice<UInt8>, into output: inout [Int32]) {
        var symbols = word.map { byteSymbols[Int($0)] }
        guard symbols.count > 1 else {
            symbols.forEach { emit($0, into: &output) }
            return
        }
        // A doubly linked list over `symbols`; merged-away slots are marked dead.
        var next = Array(1...symbols.count)
        next[symbols.count - 1] = -1
        var previous = Array(-1..<(symbols.count - 1))
        var alive = [Bool](repeating: true, count: symbols.count)
        var queue = PairQueue()

        func push(_ left: Int, _ right: Int) {
            guard left >= 0, right >= 0,
                let merge = merges[Self.key(symbols[left], symbols[right])]
            else { return }
            queue.push(.init(rank: merge.rank, left: Int32(left), right: Int32(right),
                             leftSymbol: symbols[left], rightSymbol: symbols[right]))
        }
        for index in 1..<symbols.count { push(index - 1, index) }

        while let pair = queue.pop() {
            let left = Int(pair.left), right = Int(pair.right)
            // Skip entries made stale by an earlier merge of either side.
            guard alive[left], alive[right], next[left] == right,
                symbols[left] == pair.leftSymbol, symbols[right] == pair.rightSymbol,
                let merge = merges[Self.key(pair.leftSymbol, pair.rightSymbol)]
            else { continue }
            symbols[left] = merge.result
            alive[right] = false
            next[left] = next[right]
            if next[right] >= 0 { previous[next[right]] = left }
            push(previous[left], left)
            push(left, next[left])
        }

        var index = 0
        while index >= 0 {
            emit(symbols[index], into: &output)
            index = next[index]
        }
    }

    /// Appends a final symbol: itself when it is a token, else its single-byte fallback tokens.
    private func emit(_ symbol: Int32, into output: inout [Int32]) {
        if symbol < tokenCount {
            output.append(symbol)
        } else {
            output.append(contentsOf: fallbackTokens[Int(symbol - tokenCount)])
        }
    }

    private static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }
}

/// A binary min-heap of candidate merges ordered by (rank, left index): the lowest rank first,
/// the leftmost among equal ranks.
private struct PairQueue {
    struct Entry {
        var rank: Int32
        var left: Int32
        var right: Int32
        var leftSymbol: Int32
        var rightSymbol: Int32

        func precedes(_ other: Entry) -> Bool {
            rank != other.rank ? rank < other.rank : left < other.left
        }
    }

    private var heap: [Entry] = []

    mutating func push(_ entry: Entry) {
        heap.append(entry)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].precedes(heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Entry? {
        guard let top = heap.first else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var best = parent
                if left < heap.count && heap[left].precedes(heap[best]) { best = left }
                if right < heap.count && heap[right].precedes(heap[best]) { best = right }
                if best == parent { break }
                heap.swapAt(parent, best)
                parent = best
            }
        }
        return top
    }
}
