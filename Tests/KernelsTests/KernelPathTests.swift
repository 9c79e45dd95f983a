import Testing

@testable import Kernels

/// `ARBOR_KERNEL_PATH` chooses the kernels' path for a measurement; a bad name is an answer, not
/// a silent fallback.
@Suite("KernelPath")
struct KernelPathTests {
    @Test("no name or an empty one selects the fastest supported path")
    func defaultIsTheFastest() throws {
        let fastest = try KernelPath.selected(byName: nil).get()
        #expect(fastest == KernelPath.supported.last)
        #expect(try KernelPath.selected(byName: "").get() == fastest)
    }

    @Test("each supported path can be chosen by name")
    func supportedPathsByName() throws {
        for path in KernelPath.supported {
            #expect(try KernelPath.selected(byName: path.rawValue).get() == path)
        }
    }

    @Test("an unknown name fails with the names that would work")
    func unknownName() {
        guard case .failure(let problem) = KernelPath.selected(byName: "avx1024") else {
            Issue.record("avx1024 was accepted")
            return
        }
        #expect(problem.message == "ARBOR_KERNEL_PATH=avx1024 is not a kernel path; use one of scalar, avx2, avx512")
    }

    @Test("a path this CPU cannot run fails, naming those it can")
    func unsupportedPath() {
        guard let missing = KernelPath.allCases.first(where: { !$0.isSupported }) else { return }  // runs them all
        guard case .failure(let problem) = KernelPath.selected(byName: missing.rawValue) else {
            Issue.record("\(missing) was accepted on a CPU that cannot run it")
            return
        }
        #expect(problem.message.contains("this CPU cannot run it"))
    }
}
