#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import Kernels

/// A weight matrix owned by the model: `rows` rows of `columns` elements, row-major, kept in the
/// block format the GGUF file stores (q4_1 or q8_0) or as f32.
///
/// Weight matrices store one output feature per row (ggml's layout), so y = x · Wᵀ. Quantised
/// rows stay quantised in memory (SmolLM2-135M Q4_1: ≈ 95 MB instead of ≈ 540 MB of f32) and are
/// multiplied by `QuantizedGemm`'s block kernels, or decoded a tile at a time for sgemm
/// (see `WeightMatrix+Product.swift`). Immutable once loaded; thread-safe to read.
public final class WeightMatrix: @unchecked Sendable {
    /// Output features.
    public let rows: Int
    /// Input features (elements per row).
    public let columns: Int
    /// How the elements are stored: `.f32`, `.q4_1` or `.q8_0`.
    public let format: QuantFormat
    /// rows × `rowBytes` bytes, page-aligned.
    let bytes: UnsafeMutableRawPointer
    /// Bytes mapped for `bytes` (at least one page).
    private let mappedBytes: Int

    /// Bytes of one stored row.
    var rowBytes: Int { format.byteCount(elements: columns) }

    /// The elements as floats; only for an `.f32` matrix (norm weights, f16/f32 checkpoints).
    var floats: UnsafeMutablePointer<Float> {
        precondition(format == .f32, "WeightMatrix.floats read on a \(format) matrix")
        return bytes.assumingMemoryBound(to: Float.self)
    }

    /// A zero-filled matrix in `format`.
    init(rows: Int, columns: Int, format: QuantFormat = .f32) {
        self.rows = rows
        self.columns = columns
        self.format = format
        let count = rows * format.byteCount(elements: columns)
        // Mapped directly rather than malloc'd: a policy reload frees a whole model's matrices
        // (megabytes each), and glibc then raises its mmap threshold past them, so the next
        // model's matrices land in malloc's per-thread arenas, whose freed tops malloc_trim never
        // returns: resident memory grew ~3 MB per reload with nothing left allocated.
        // Anonymous pages read as zero.
        mappedBytes = max(count, 1)
        guard let base = mmap(nil, mappedBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
            base != MAP_FAILED
        else { fatalError("WeightMatrix: cannot map \(mappedBytes) bytes for a \(rows)×\(columns) \(format) matrix") }
        bytes = base
    }

    deinit { munmap(bytes, mappedBytes) }

    /// Stacks `tensors` (each `[columns, n_i]` in ggml order) into consecutive row ranges of one
    /// matrix, so fused projections (q|k|v, gate|up) run as a single matrix product.
    ///
    /// Tensors that are all q4_1, or all q8_0, are copied as stored; anything else (f16, q4_0, or
    /// a mix) is dequantised to f32. Throws `.badModelFile` when a tensor's inner size differs
    /// from `columns` and `.unsupported` for a tensor type without a `QuantFormat`.
    static func stacking(_ tensors: [GGUFTensor], columns: Int, path: String) throws -> WeightMatrix {
        var formats: Set<QuantFormat> = []
        for tensor in tensors {
            guard tensor.rowLength == columns, tensor.dims.count <= 2 else {
                throw WorkerError(
                    .badModelFile, "\(path): tensor \(tensor.name) has shape \(tensor.dims), expected [\(columns), n]")
            }
            formats.insert(try tensor.quantFormat(path: path))
        }
        let kept: QuantFormat =
            if formats.count == 1, let only = formats.first, QuantizedGemm.multiplies(only) { only } else { .f32 }
        let matrix = WeightMatrix(rows: tensors.reduce(0) { $0 + $1.rowCount }, columns: columns, format: kept)
        var row = 0
        for tensor in tensors {
            guard let base = tensor.data.baseAddress else { continue }
            let target = matrix.bytes + row * matrix.rowBytes
            if kept == .f32 {
                let format = try tensor.quantFormat(path: path)
                guard tensor.data.count >= format.byteCount(elements: tensor.elementCount) else {
                    throw WorkerError(.badModelFile, "\(path): tensor \(tensor.name) is shorter than its shape")
                }
                Dequantize.run(
                    format, from: base, count: tensor.elementCount, into: target.assumingMemoryBound(to: Float.self))
            } else {
                let count = kept.byteCount(elements: tensor.elementCount)
                guard tensor.data.count >= count else {
                    throw WorkerError(.badModelFile, "\(path): tensor \(tensor.name) is shorter than its shape")
                }
                target.copyMemory(from: base, byteCount: count)
            }
            row += tensor.rowCount
        }
        return matrix
    }

    /// A single tensor as a matrix; a 1-D tensor becomes one row.
    static func loading(_ tensor: GGUFTensor, path: String) throws -> WeightMatrix {
        try stacking([tensor], columns: tensor.rowLength, path: path)
    }

    /// Bytes the matrix holds in memory.
    public var residentBytes: Int { rows * rowBytes }
}

extension GGUFTensor {
    /// The Kernels format of this tensor's type; throws `.unsupported` naming the tensor and type.
    func quantFormat(path: String) throws -> QuantFormat {
        switch type {
        case .f32: return .f32
        case .f16: return .f16
        case .q8_0: return .q8_0
        case .q4_0: return .q4_0
        case .q4_1: return .q4_1
        default:
            throw WorkerError(
                .unsupported,
                "\(path): tensor \(name) has type \(type); the engine loads f32, f16, q8_0, q4_0 and q4_1")
        }
    }
}
