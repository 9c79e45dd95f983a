/// Which cached key/value blocks each query row of one forward pass attends to.
///
/// The KV cache stores sequences as tables of fixed-size blocks; sequences forked from one
/// another share their prefix blocks. A plan lists every distinct block the batch touches once,
/// with the query rows that read it, so a shared block is multiplied against all of its readers'
/// queries in a single matrix product (M = readers × heads per group) instead of once per reader.
/// The plan depends only on block tables and positions, so one plan serves every layer.
public struct AttentionPlan: Sendable {
    /// One distinct cache block read by the batch.
    public struct Block: Sendable {
        /// Index of the block in the cache pool (keys at `keyBase + index * blockStride`).
        public var index: Int
        /// Tokens to read from the block: the furthest any reader sees, ≤ the block size.
        public var tokenCount: Int
        /// Range of this block's readers in `readerRows` / `readerStarts`, in ascending row order
        /// (the attention kernel splits the rows over its threads).
        public var readers: Range<Int>

        /// A block entry; see the field docs.
        public init(index: Int, tokenCount: Int, readers: Range<Int>) {
            self.index = index
            self.tokenCount = tokenCount
            self.readers = readers
        }
    }

    /// For each query row: the last logical position it may see (its own position; causal).
    public var lastPositions: [Int]
    /// The blocks read, each once.
    public var blocks: [Block]
    /// For each reader entry: the query row.
    public var readerRows: [Int]
    /// For each reader entry: the logical position of the block's first token in that row's sequence.
    public var readerStarts: [Int]
    /// Row stride of the score matrix: the longest row context, rounded up to whole blocks.
    public var scoreStride: Int

    /// An empty plan for `rows` query rows.
    public init(lastPositions: [Int] = [], blocks: [Block] = [], readerRows: [Int] = [], readerStarts: [Int] = [], scoreStride: Int = 0) {
        self.lastPositions = lastPositions
        self.blocks = blocks
        self.readerRows = readerRows
        self.readerStarts = readerStarts
        self.scoreStride = scoreStride
    }

    /// Number of query rows.
    public var rows: Int { lastPositions.count }
}
