import CKernels

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The instruction path of the C kernels (quantised products, attention), chosen at run time from
/// what the CPU advertises (cpuid) and the OS enables (xgetbv); AMX is never used.
public enum KernelPath: String, Sendable, CaseIterable {
    /// Portable C: any CPU; the reference the SIMD paths are tested against.
    case scalar
    /// AVX2 + FMA + F16C: 8 lanes.
    case avx2
    /// AVX-512 F/BW/VL: 16 lanes.
    case avx512

    /// The path every kernel runs on: the fastest this machine runs, or the one the environment
    /// variable `ARBOR_KERNEL_PATH` names (`scalar`, `avx2`, `avx512`), to measure one path against
    /// another (`arbor bench engine` prints the path in use). `arbor` refuses a bad name before any
    /// command starts (`selected(byName:)`); here it counts as unset.
    public static let best: KernelPath = {
        let name = getenv("ARBOR_KERNEL_PATH").map { String(cString: $0) }
        return (try? selected(byName: name).get()) ?? KernelPath(ck_best_path())
    }()

    /// Why a name in `ARBOR_KERNEL_PATH` cannot be honoured.
    public struct SelectionProblem: Error, Sendable, CustomStringConvertible {
        /// What is wrong and which names would work.
        public let message: String

        public var description: String { message }
    }

    /// The path `name` selects: the fastest supported one when `name` is nil or empty; a failure
    /// naming the alternatives when it is not a path or this machine cannot run it.
    public static func selected(byName name: String?) -> Result<KernelPath, SelectionProblem> {
        guard let name, !name.isEmpty else { return .success(KernelPath(ck_best_path())) }
        guard let path = KernelPath(rawValue: name) else {
            let names = allCases.map(\.rawValue).joined(separator: ", ")
            return .failure(SelectionProblem(message: "ARBOR_KERNEL_PATH=\(name) is not a kernel path; use one of \(names)"))
        }
        guard path.isSupported else {
            let names = supported.map(\.rawValue).joined(separator: ", ")
            return .failure(SelectionProblem(message: "ARBOR_KERNEL_PATH=\(name): this CPU cannot run it; it runs \(names)"))
        }
        return .success(path)
    }

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
