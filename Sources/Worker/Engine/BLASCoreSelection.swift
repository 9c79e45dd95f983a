#if canImport(Glibc)
    import Glibc
#endif
import Foundation
import Kernels

/// Makes sure OpenBLAS runs its AVX2/AVX-512 kernels on CPUs newer than it knows.
///
/// OpenBLAS (0.3.21 in Debian 12) picks its kernels from the CPU model number when the library
/// loads; on CPUs released after it (Emerald Rapids, model 0xCF) it falls back to `Prescott`,
/// SSE3 kernels several times slower. The choice can only be overridden by the environment
/// variable `OPENBLAS_CORETYPE` before the library loads, so a process that finds the fallback
/// re-executes itself once with the variable set from the CPU's feature flags.
public enum BLASCoreSelection {
    /// The environment variable OpenBLAS reads at load.
    public static let variable = "OPENBLAS_CORETYPE"

    /// The OpenBLAS core to request for this CPU: `SkylakeX` with AVX-512, `Haswell` with AVX2
    /// and FMA, nil otherwise (or when /proc/cpuinfo is unreadable).
    public static func preferredCore() -> String? {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let flagsLine = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return nil }
        let flags = Set(flagsLine.split(separator: " ").map(String.init))
        if flags.contains("avx512f") && flags.contains("avx512bw") && flags.contains("avx512vl") { return "SkylakeX" }
        if flags.contains("avx2") && flags.contains("fma") { return "Haswell" }
        return nil
    }

    /// Re-executes the current process with `OPENBLAS_CORETYPE` set when OpenBLAS fell back to
    /// `Prescott` on a CPU with wider vector units and the variable is not already set.
    ///
    /// Call it first thing in a command that runs the engine (never from a thread other than the
    /// main one: `execv` replaces the whole process). Returns normally when nothing needs doing
    /// or when re-execution fails (the engine then runs on the slow kernels).
    public static func reexecIfNeeded() {
        #if os(Linux)
            guard ProcessInfo.processInfo.environment[variable] == nil, BLASThreads.coreName == "Prescott",
                let core = preferredCore()
            else { return }
            setenv(variable, core, 1)
            let arguments = CommandLine.arguments
            var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
            argv.append(nil)
            execv("/proc/self/exe", &argv)
        #endif
    }
}
