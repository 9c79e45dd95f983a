import Testing

@testable import Worker

/// Parsing bwrap's `--json-status-fd` lines.
struct SandboxExitRecordTests {
    @Test("the exit code comes from the exit-code line, whole or in pieces; other lines are skipped")
    func parsesTheExitLine() {
        var record = SandboxExitRecord()
        record.append(ArraySlice("{ \"child-pid\": 4242, \"cgroup-namespace\": 4026531835 }\n{ \"exit-".utf8))
        #expect(record.exitCode == nil)
        record.append(ArraySlice("code\": 1".utf8))
        #expect(record.exitCode == nil, "a partial line must wait for its newline")
        record.append(ArraySlice("37 }\n".utf8))
        #expect(record.exitCode == 137)
    }

    @Test("lines without a usable exit code give none")
    func rejectsOtherLines() {
        for line in ["{ \"child-pid\": 12 }", "{ \"exit-code\": }", "{ \"exit-code\": 1234 }", "exit-code 3", ""] {
            #expect(SandboxExitRecord.exitCode(inLine: ArraySlice(line.utf8)) == nil, "\(line)")
        }
        #expect(SandboxExitRecord.exitCode(inLine: ArraySlice("{ \"exit-code\": 0 }".utf8)) == 0)
    }
}
