/// One entry of a GGUF tensor table, with its data located inside the mapped file.
///
/// `dims` are in ggml order: `dims[0]` is the contiguous (fastest-varying) axis, so a weight
/// matrix with `dims == [n_in, n_out]` is `n_out` rows of `n_in` elements. `data` points into the
/// `GGUFFile`'s mapping and is valid only while that file object is alive.
public struct GGUFTensor: @unchecked Sendable {
    /// The checkpoint name, such as `blk.0.attn_q.weight`.
    public let name: String
    /// The element type of the stored data.
    public let type: GGMLType
    /// Extent of each axis, innermost first (ggml `ne`).
    public let dims: [Int]
    /// Byte offset of the data from the start of the tensor-data section.
    public let offset: Int
    /// The stored bytes (`elementCount / type.blockSize * type.blockBytes`), read-only and
    /// borrowed from the owning `GGUFFile`'s mapping.
    public let data: UnsafeRawBufferPointer

    /// Total number of elements (product of `dims`; 1 for a scalar).
    public var elementCount: Int { dims.reduce(1, *) }

    /// Elements per row: `dims[0]`.
    public var rowLength: Int { dims.first ?? 1 }

    /// Number of rows: the product of all axes but the first.
    public var rowCount: Int { dims.dropFirst().reduce(1, *) }
}
