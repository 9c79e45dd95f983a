/// One metadata value of a GGUF file, as stored (GGUF v3 value types 0–12).
///
/// Integers keep their sign class: unsigned types become `.uint`, signed ones `.int`; both
/// floating types become `.float`. Arrays keep their element type and are stored as typed
/// Swift arrays, so a 49k-entry vocabulary is one `[String]`, not 49k enum values.
/// Reference: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md (GGUF v3).
public enum GGUFValue: Sendable, Equatable {
    /// UINT8, UINT16, UINT32 or UINT64.
    case uint(UInt64)
    /// INT8, INT16, INT32 or INT64.
    case int(Int64)
    /// FLOAT32 or FLOAT64.
    case float(Double)
    /// BOOL (one byte, 0 or 1).
    case bool(Bool)
    /// STRING (u64 length + UTF-8 bytes; invalid sequences become U+FFFD).
    case string(String)
    /// ARRAY of any value type, including nested arrays.
    case array(GGUFArray)

    /// The value as a signed integer when it is an integer that fits in `Int`.
    public var intValue: Int? {
        switch self {
        case .uint(let v): return v <= UInt64(Int.max) ? Int(v) : nil
        case .int(let v): return Int(exactly: v)
        default: return nil
        }
    }

    /// The value as a floating-point number when it is a float or an integer.
    public var doubleValue: Double? {
        switch self {
        case .float(let v): return v
        case .uint(let v): return Double(v)
        case .int(let v): return Double(v)
        default: return nil
        }
    }
}

/// A GGUF metadata array with its element type preserved.
public enum GGUFArray: Sendable, Equatable {
    /// Elements of an unsigned integer type (`elementType` says which width).
    case uints([UInt64], elementType: GGUFValueType)
    /// Elements of a signed integer type.
    case ints([Int64], elementType: GGUFValueType)
    /// FLOAT32 or FLOAT64 elements.
    case floats([Double], elementType: GGUFValueType)
    /// BOOL elements.
    case bools([Bool])
    /// STRING elements.
    case strings([String])
    /// Nested arrays.
    case arrays([GGUFArray])

    /// Number of elements.
    public var count: Int {
        switch self {
        case .uints(let a, _): return a.count
        case .ints(let a, _): return a.count
        case .floats(let a, _): return a.count
        case .bools(let a): return a.count
        case .strings(let a): return a.count
        case .arrays(let a): return a.count
        }
    }
}

/// The on-disk value type tags of GGUF v3.
public enum GGUFValueType: UInt32, Sendable {
    case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6, bool = 7
    case string = 8, array = 9, uint64 = 10, int64 = 11, float64 = 12
}

/// Tensor element types of ggml (`enum ggml_type` in ggml.h), with their block geometry.
///
/// Every type a current GGUF may carry is listed so that any file's tensor table parses; only
/// those with a `Kernels.QuantFormat` (F32, F16, Q4_0, Q4_1, Q8_0) can be loaded by the engine.
/// Reference: https://github.com/ggml-org/ggml/blob/master/include/ggml.h (type ids),
/// ggml/src/ggml.c `type_traits` (block sizes and byte sizes).
public enum GGMLType: UInt32, Sendable, CustomStringConvertible {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8, q8_1 = 9
    case q2_K = 10, q3_K = 11, q4_K = 12, q5_K = 13, q6_K = 14, q8_K = 15
    case iq2_xxs = 16, iq2_xs = 17, iq3_xxs = 18, iq1_s = 19, iq4_nl = 20, iq3_s = 21, iq2_s = 22
    case iq4_xs = 23, i8 = 24, i16 = 25, i32 = 26, i64 = 27, f64 = 28, iq1_m = 29, bf16 = 30
    case tq1_0 = 34, tq2_0 = 35

    /// Elements per block (1 for plain scalar types).
    public var blockSize: Int {
        switch self {
        case .f32, .f16, .i8, .i16, .i32, .i64, .f64, .bf16: return 1
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q8_1, .iq4_nl: return 32
        default: return 256
        }
    }

    /// Bytes per block.
    public var blockBytes: Int {
        switch self {
        case .f32, .i32: return 4
        case .f16, .i16, .bf16: return 2
        case .i8: return 1
        case .i64, .f64: return 8
        case .q4_0: return 18
        case .q4_1: return 20
        case .q5_0: return 22
        case .q5_1: return 24
        case .q8_0: return 34
        case .q8_1: return 36
        case .q2_K: return 84
        case .q3_K: return 110
        case .q4_K: return 144
        case .q5_K: return 176
        case .q6_K: return 210
        case .q8_K: return 292
        case .iq2_xxs: return 66
        case .iq2_xs: return 74
        case .iq3_xxs: return 98
        case .iq1_s: return 50
        case .iq4_nl: return 18
        case .iq3_s: return 110
        case .iq2_s: return 82
        case .iq4_xs: return 136
        case .iq1_m: return 56
        case .tq1_0: return 54
        case .tq2_0: return 66
        }
    }

    /// ggml's name of the type (`q4_1`, `f16`, `q4_K`).
    public var description: String {
        switch self {
        case .f32: return "f32"
        case .f16: return "f16"
        case .q4_0: return "q4_0"
        case .q4_1: return "q4_1"
        case .q5_0: return "q5_0"
        case .q5_1: return "q5_1"
        case .q8_0: return "q8_0"
        case .q8_1: return "q8_1"
        case .q2_K: return "q2_K"
        case .q3_K: return "q3_K"
        case .q4_K: return "q4_K"
        case .q5_K: return "q5_K"
        case .q6_K: return "q6_K"
        case .q8_K: return "q8_K"
        case .iq2_xxs: return "iq2_xxs"
        case .iq2_xs: return "iq2_xs"
        case .iq3_xxs: return "iq3_xxs"
        case .iq1_s: return "iq1_s"
        case .iq4_nl: return "iq4_nl"
        case .iq3_s: return "iq3_s"
        case .iq2_s: return "iq2_s"
        case .iq4_xs: return "iq4_xs"
        case .i8: return "i8"
        case .i16: return "i16"
        case .i32: return "i32"
        case .i64: return "i64"
        case .f64: return "f64"
        case .iq1_m: return "iq1_m"
        case .bf16: return "bf16"
        case .tq1_0: return "tq1_0"
        case .tq2_0: return "tq2_0"
        }
    }
}
