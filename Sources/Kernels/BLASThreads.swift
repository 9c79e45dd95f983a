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
}
