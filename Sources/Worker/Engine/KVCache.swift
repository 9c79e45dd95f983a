#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import Kernels

/// The key/value cache of all sequences of one engine: a pool of fixed-size blocks with
/// reference counts, shared by forked sequences and copied on write (as in vLLM's PagedAttention).
///
/// Layout: keys and values are each one array `[layer][block][token][kvHead·headDim]`, allocated
/// once, zero-filled, for `capacityBlocks` blocks. The memory is reserved virtually and only pages
/// that sequences actually write become resident, so a large capacity costs nothing until used.
/// A sequence owns a block table (`[Int]`): its token at position p lives in block
/// `table[p / blockSize]` at row `p % blockSize`. Forking retains every block of the table; a
/// write into a block with more than one owner first copies it (`prepareWrite`).
///
/// Not thread-safe: owned by the engine's thread.
final class KVCache {
    let geometry: AttentionGeometry
    let layers: Int
    let capacityBlocks: Int
    private let keys: UnsafeMutablePointer<Float>
    private let values: UnsafeMutablePointer<Float>
    private var referenceCounts: [Int]
    private var freeBlocks: [Int]

    /// A cache for `layers` layers of `geometry`, able to hold `capacityTokens` tokens in total.
    init(geometry: AttentionGeometry, layers: Int, capacityTokens: Int) {
        self.geometry = geometry
        self.layers = layers
        capacityBlocks = max(1, (capacityTokens + geometry.blockSize - 1) / geometry.blockSize)
        let count = layers * capacityBlocks * geometry.blockStride
        // calloc: untouched pages stay virtual, and never-written rows read as 0, not NaN.
        keys = calloc(count, MemoryLayout<Float>.stride)!.assumingMemoryBound(to: Float.self)
        values = calloc(count, MemoryLayout<Float>.stride)!.assumingMemoryBound(to: Float.self)
        referenceCounts = [Int](repeating: 0, count: capacityBlocks)
        // Hand out low block numbers first so a fresh sequence's blocks are adjacent in memory.
        freeBlocks = Array((0..<capacityBlocks).reversed())
    }

    deinit {
        free(keys)
        free(values)
    }

    /// Blocks currently owned by at least one sequence.
    var blocksInUse: Int { capacityBlocks - freeBlocks.count }

    /// Keys of block 0 of `layer`; block b starts `b · geometry.blockStride` floats further.
    func keyBase(layer: Int) -> UnsafeMutablePointer<Float> {
        keys + layer * capacityBlocks * geometry.blockStride
    }

    /// Values of block 0 of `layer`.
    func valueBase(layer: Int) -> UnsafeMutablePointer<Float> {
        values + layer * capacityBlocks * geometry.blockStride
    }

    /// Takes a free block (reference count 1). Throws `.invalidArgument` when the pool is full.
    func allocate() throws -> Int {
        guard let block = freeBlocks.popLast() else {
            throw WorkerError(
                .invalidArgument,
                "KV cache is full (\(capacityBlocks) blocks of \(geometry.blockSize) tokens); "
                    + "release sequences or raise the engine's cache capacity")
        }
        referenceCounts[block] = 1
        return block
    }

    /// Adds an owner to every block of `table` (a fork).
    func retain(_ table: [Int]) {
        for block in table { referenceCounts[block] += 1 }
    }

    /// Drops an owner from every block of `table`; blocks without owners return to the pool.
    func release(_ table: [Int]) {
        for block in table {
            referenceCounts[block] -= 1
            if referenceCounts[block] == 0 { freeBlocks.append(block) }
        }
    }

    /// Makes position `position` of the sequence with block `table` writable, growing the table or
    /// copying a shared block (its first `position % blockSize` rows, all layers) as needed.
    /// Returns the (block, row) where that position's keys and values go.
    func prepareWrite(table: inout [Int], position: Int) throws -> (block: Int, row: Int) {
        let logical = position / geometry.blockSize
        let row = position % geometry.blockSize
        if logical == table.count {
            table.append(try allocate())
        } else if referenceCounts[table[logical]] > 1 {
            let shared = table[logical]
            let copy = try allocate()
            let floats = row * geometry.kvStride
            for layer in 0..<layers {
                (keyBase(layer: layer) + copy * geometry.blockStride)
                    .update(from: keyBase(layer: layer) + shared * geometry.blockStride, count: floats)
                (valueBase(layer: layer) + copy * geometry.blockStride)
                    .update(from: valueBase(layer: layer) + shared * geometry.blockStride, count: floats)
            }
            referenceCounts[shared] -= 1
            table[logical] = copy
        }
        return (table[logical], row)
    }

    /// Where the keys of (block, row) live in `layer`.
    func keySlot(layer: Int, block: Int, row: Int) -> UnsafeMutablePointer<Float> {
        keyBase(layer: layer) + block * geometry.blockStride + row * geometry.kvStride
    }

    /// Where the values of (block, row) live in `layer`.
    func valueSlot(layer: Int, block: Int, row: Int) -> UnsafeMutablePointer<Float> {
        valueBase(layer: layer) + block * geometry.blockStride + row * geometry.kvStride
    }
}
