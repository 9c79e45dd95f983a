import Kernels

/// A dense f32 matrix owned by the model: `rows` rows of `columns` floats, row-major.
///
/// Weight matrices store one output feature per row (ggml's layout), so y = x · Wᵀ.
/// Immutable once loaded; thread-safe to read.
public final class WeightMatrix: @unchecked Sendable {
    /// Output features.
    public let rows: Int
    /// Input features (floats per row).
    public let columns: Int
    /// The rows × columns floats.
    let storage: UnsafeMutablePointer<Float>

    /// A zero-filled matrix.
    init(rows: Int, columns: Int) {
        self.rows = rows
        self.columns = columns
        storage = .allocate(capacity: rows * columns)
        storage.initialize(repeating: 0, count: rows * columns)
    }

    deinit { storage.deallocate() }

    /// Dequantises `tensors` (each `[columns, n_i]` in ggml order) into consecutive row ranges of
    /// one matrix, so fused projections (q|k|v, gate|up) run as a single matrix product.
    ///
    /// Throws `.badModelFile` when a tensor's inner size differs from `columns` and
    /// `.unsupported` for a tensor type without a `QuantFormat`.
    static func stacking(_ tensors: [GGUFTensor], columns: Int, path: String) throws -> WeightMatrix {
        let matrix = WeightMatrix(rows: tensors.reduce(0) { $0 + $1.rowCount }, columns: columns)
        var row = 0
        for tensor in tensors {
            guard tensor.rowLength == columns, tensor.dims.count <= 2 else {
                throw WorkerError(
                    .badModelFile, "\(path): tensor \(tensor.name) has shape \(tensor.dims), expected [\(columns), n]")
            }
            let format = try tensor.quantFormat(path: path)
            guard let base = tensor.data.baseAddress else { continue }
            Dequantize.run(format, from: base, count: tensor.elementCount, into: matrix.storage + row * columns)
            row += tensor.rowCount
        }
        return matrix
    }

    /// A single tensor as a matrix; a 1-D tensor becomes one row.
    static func loading(_ tensor: GGUFTensor, path: String) throws -> WeightMatrix {
        try stacking([tensor], columns: tensor.rowLength, path: path)
    }
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
