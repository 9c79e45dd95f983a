import Foundation
import Testing
import TestSupport

/// `ARBOR_KERNEL_PATH` is checked before any command starts: a bad value is a message and a
/// non-zero exit, not a worker that stops mid-job.
struct KernelPathEnvironmentTests {
    @Test func anUnknownKernelPathStopsArborWithTheNamesThatWork() throws {
        let process = try ChildProcess(
            Fixtures.arborBinary, ["--help"], environment: ["ARBOR_KERNEL_PATH": "avx1024"])
        let status = try #require(process.waitForExit(timeout: 30), "arbor did not exit")
        #expect(status != 0)
        #expect(process.text.contains("ARBOR_KERNEL_PATH=avx1024 is not a kernel path; use one of scalar, avx2, avx512"),
            "\(process.text)")
    }

    @Test func aSupportedKernelPathIsAccepted() throws {
        let process = try ChildProcess(Fixtures.arborBinary, ["--help"], environment: ["ARBOR_KERNEL_PATH": "scalar"])
        #expect(process.waitForExit(timeout: 30) == 0, "\(process.text)")
    }
}
