import CKernels

/// The instruction path of the C kernels (quantised products, attention), chosen at run time from
/// what the CPU advertises (cpuid) and the OS enables (xgetbv); AMX is never used.
public enum KernelPath: String, Sendable, CaseIterable {
    /// Portable C: any CPU; the reference the SIMD paths are tested against.
    case scalar
    /// AVX2 + FMA + F16C: 8 lanes.
    case avx2
    /// AVX-512 F/BW/VL: 16 lanes.
    case avx512

    /// The fastest path this machine runs.
    public static let best: KernelPath = KernelPath(ck_best_path())

    /// Whether this machine can run the path.
    public var isSupported: Bool { ck_path_supported(cPath) != 0 }

    /// The paths this machine can run, slowest first.
    public static var supported: [KernelPath] { allCases.filter(\.isSupported) }

    var cPath: ck_path {
        switch self {
        case .scalar: return CK_PATH_SCALAR
        case .avx2: return CK_PATH_AVX2
        case .avx512: return CK_PATH_AVX512
        }
    }

    init(_ path: ck_path) {
        switch path {
        case CK_PATH_AVX512: self = .avx512
        case CK_PATH_AVX2: self = .avx2
        default: self = .scalar
        }
    }
}
