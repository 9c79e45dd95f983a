import Kernels

extension InferenceEngine {
    /// Runs one forward pass over `work`: for each sequence, tokens to add at its next positions.
    ///
    /// Reserves cache slots (copying shared blocks that are written into), builds the attention
    /// plan in which each distinct block appears once with all its readers, runs the model and
    /// advances each sequence's cached length. Returns logits of each sequence's last row (in
    /// `work` order) when `wantLogits`, or of every row when `allRows`.
    func run(
        _ work: [(id: SequenceID, tokens: [Int])], wantLogits: Bool, allRows: Bool = false
    ) throws -> UnsafeMutablePointer<Float> {
        let blockSize = options.blockSize
        var batch = ForwardBatch()
        var rowRanges: [Range<Int>] = []
        for (id, tokens) in work {
            var s = sequences[id.rawValue]!
            let first = batch.count
            for (i, token) in tokens.enumerated() {
                let position = s.length + i
                batch.tokens.append(token)
                batch.positions.append(position)
                batch.slots.append(try cache.prepareWrite(table: &s.blocks, position: position))
            }
            s.length += tokens.count
            sequences[id.rawValue] = s
            rowRanges.append(first..<batch.count)
            if allRows {
                batch.logitRows += first..<batch.count
            } else if wantLogits {
                batch.logitRows.append(batch.count - 1)
            }
        }

        // The attention plan: every block a row can see, once, with the rows that read it.
        var plan = AttentionPlan(lastPositions: batch.positions)
        var entryOfBlock: [Int: Int] = [:]
        var readers: [[(row: Int, start: Int)]] = []
        var furthest: [Int] = []
        var stride = 0
        for ((id, _), rows) in zip(work, rowRanges) {
            let table = sequences[id.rawValue]!.blocks
            for row in rows {
                let position = batch.positions[row]
                stride = max(stride, (position / blockSize + 1) * blockSize)
                for logical in 0...(position / blockSize) {
                    let block = table[logical]
                    let start = logical * blockSize
                    let entry: Int
                    if let e = entryOfBlock[block] {
                        entry = e
                    } else {
                        entry = readers.count
                        entryOfBlock[block] = entry
                        readers.append([])
                        furthest.append(0)
                        plan.blocks.append(.init(index: block, tokenCount: 0, readers: 0..<0))
                    }
                    readers[entry].append((row, start))
                    furthest[entry] = max(furthest[entry], min(blockSize, position - start + 1))
                }
            }
        }
        for entry in plan.blocks.indices {
            let first = plan.readerRows.count
            for reader in readers[entry] {
                plan.readerRows.append(reader.row)
                plan.readerStarts.append(reader.start)
            }
            plan.blocks[entry].readers = first..<plan.readerRows.count
            plan.blocks[entry].tokenCount = furthest[entry]
        }
        plan.scoreStride = stride
        batch.plan = plan
        return forward.run(batch, cache: cache)
    }
}
