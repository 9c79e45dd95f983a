import Testing

@testable import Kernels

@Suite("GroupedQueryAttention")
struct GroupedQueryAttentionTests {
    /// A tree of three sequences in a pool of 4-token blocks: a shared 2-block prefix (blocks 0, 1),
    /// then seq A continues in block 2, B in block 3 (a copy-on-write split), C in blocks 4 and 5.
    /// Rows: A decodes at position 9, B at 10, C prefills positions 12...14.
    /// Heads of 20 floats leave a short last vector on every path (16 + 4 lanes, 8 + 8 + 4); heads
    /// of 64 take the four-reader kernels of every SIMD path (blocks 0 and 1 have five readers).
    @Test("the blocked, batched kernel matches naive attention per row, on each path, alone and in a team",
        arguments: KernelPath.allCases, [1, 3])
    func matchesNaive(path: KernelPath, threads: Int) {
        for headDim in [20, 64] {
            check(path: path, threads: threads, headDim: headDim)
        }
    }

    func check(path: KernelPath, threads: Int, headDim: Int) {
        let g = AttentionGeometry(heads: 6, kvHeads: 2, headDim: headDim, blockSize: 4)
        let keys = randomFloats(6 * g.blockStride, seed: 50)
        let values = randomFloats(6 * g.blockStride, seed: 51)
        let tables = [[0, 1, 2], [0, 1, 3], [0, 1, 4, 5]]
        let rows: [(sequence: Int, position: Int)] = [(0, 9), (1, 10), (2, 12), (2, 13), (2, 14)]
        let queries = randomFloats(rows.count * g.queryStride, seed: 52, scale: 2)

        // Build the plan: each block once, with the rows that read it.
        var plan = AttentionPlan(lastPositions: rows.map(\.position), scoreStride: 16)
        var readers: [Int: [(row: Int, start: Int)]] = [:]
        for (row, r) in rows.enumerated() {
            for (logical, block) in tables[r.sequence].enumerated() where logical * 4 <= r.position {
                readers[block, default: []].append((row, logical * 4))
            }
        }
        for block in readers.keys.sorted() {
            let list = readers[block]!
            let furthest = list.map { min(4, rows[$0.row].position - $0.start + 1) }.max()!
            let start = plan.readerRows.count
            plan.readerRows += list.map(\.row)
            plan.readerStarts += list.map(\.start)
            plan.blocks.append(.init(index: block, tokenCount: furthest, readers: start..<plan.readerRows.count))
        }
        var out = [Float](repeating: .nan, count: rows.count * g.queryStride)
        let team = ComputeTeam(threads: threads)
        GroupedQueryAttention(geometry: g, path: path).run(
            queries: queries, plan: plan, keyBase: keys, valueBase: values, into: &out, team: team)

        for (row, r) in rows.enumerated() {
            let length = r.position + 1
            var k: [Float] = []
            var v: [Float] = []
            for t in 0..<length {
                let base = tables[r.sequence][t / 4] * g.blockStride + (t % 4) * g.kvStride
                k += keys[base..<(base + g.kvStride)]
                v += values[base..<(base + g.kvStride)]
            }
            var expected = [Float](repeating: 0, count: g.queryStride)
            let query = Array(queries[(row * g.queryStride)..<((row + 1) * g.queryStride)])
            GroupedQueryAttention.naive(query: query, keys: k, values: v, length: length, geometry: g, into: &expected)
            let actual = Array(out[(row * g.queryStride)..<((row + 1) * g.queryStride)])
            #expect(maxDifference(actual, expected) < 1e-5, "\(path) head size \(headDim) row \(row)")
        }
    }
}
