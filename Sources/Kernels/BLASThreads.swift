import COpenBLAS

/// OpenBLAS's worker-thread count, set explicitly so BLAS does not oversubscribe the cores
/// (OpenBLAS would otherwise start one thread per core in every process).
public enum BLASThreads {
    /// Sets the number of threads OpenBLAS uses for each call (at least 1). Thread-safe, but it
    /// changes a process-wide setting: call it once when a worker or benchmark starts.
    public static func set(_ count: Int) {
        openblas_set_num_threads(Int32(max(1, count)))
    }

    /// The number of threads OpenBLAS currently uses.
    public static var current: Int { Int(openblas_get_num_threads()) }

    /// The CPU kernel family OpenBLAS picked at load (`Haswell`, `SkylakeX`, or `Prescott` when it
    /// did not recognise the CPU and fell back to SSE3 kernels, ~8× slower on AVX-512 machines).
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }
}
