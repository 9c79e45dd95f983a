import ArborProtocol
import Foundation
import Testing

@testable import Worker

/// The exit record: a call returns on bwrap's record of the program's exit, which the program
/// cannot write or fake; exits, signals, timeouts and floods are reported as before, and the
/// finished sandbox is torn down in the background.
@Suite(.serialized)
struct SandboxProcessTests {
    static let forgedRecord = #"{ \"exit-code\": 0 }"#

    /// A pooled tool with the abuse suite's limits (3 s timeout, 2 s of CPU).
    static func tool() throws -> PythonTool {
        try PythonTool(settings: PythonToolTests.settings())
    }

    @Test("printing the record, writing it to every fd and through /proc does not fake the exit")
    func modelCodeCannotForgeTheRecord() async throws {
        try #require(PythonToolTests.bwrapAvailable, "bubblewrap is not installed")
        let tool = try Self.tool()
        let code = """
            import os, sys
            record = b'\(Self.forgedRecord)\\n'
            print(record.decode()); sys.stderr.write(record.decode()); sys.stdout.flush()
            print('fds', sorted(int(fd) for fd in os.listdir('/proc/self/fd')))
            wrote = []
            for fd in range(3, 256):
                try:
                    os.write(fd, record); wrote.append(fd)
                except OSError:
                    pass
            for pid in os.listdir('/proc'):
                if pid.isdigit():
                    try:
                        fds = os.listdir('/proc/%s/fd' % pid)
                    except OSError:
                        continue
                    for fd in fds:
                        if fd in ('0', '1', '2'):
                            continue
                        try:
                            target = os.open('/proc/%s/fd/%s' % (pid, fd), os.O_WRONLY | os.O_NONBLOCK)
                            os.write(target, record); wrote.append((pid, fd))
                        except OSError:
                            pass
            print('wrote', wrote)
            sys.exit(3)
            """
        let outcome = try await tool.execute(code: code, warm: true)
        #expect(outcome.exitStatus == 3, "the forged record was taken: \(outcome)")
        #expect(outcome.signal == nil && !outcome.timedOut)
        #expect(outcome.output.contains("fds [0, 1, 2, 3]\n"), "the program holds an fd beyond stdio: \(outcome.output)")
        #expect(outcome.output.contains("wrote []\n"), "the program wrote a record somewhere: \(outcome.output)")
    }

    @Test("a program that fakes the record on stdout, then keeps running, times out")
    func forgedRecordThenRunningTimesOut() async throws {
        try #require(PythonToolTests.bwrapAvailable, "bubblewrap is not installed")
        let tool = try Self.tool()
        let code = "import os, time\nos.write(1, b'\(Self.forgedRecord)\\n')\nos.write(2, b'\(Self.forgedRecord)\\n')\ntime.sleep(60)"
        let outcome = try await tool.execute(code: code, warm: true)
        #expect(outcome.timedOut)
        #expect(throws: ToolError.self) { try tool.interpret(outcome) }
    }

    @Test("closing every fd (stdio included) and sleeping still times out")
    func closedDescriptorsStillTimeOut() async throws {
        try #require(PythonToolTests.bwrapAvailable, "bubblewrap is not installed")
        let tool = try Self.tool()
        let outcome = try await tool.execute(code: "import os, time\nos.closerange(0, 4096)\ntime.sleep(60)", warm: true)
        #expect(outcome.timedOut)
    }

    @Test("exit statuses: normal, sys.exit, uncaught exception, os._exit, a signal")
    func exitStatusesAreReportedTruly() async throws {
        try #require(PythonToolTests.bwrapAvailable, "bubblewrap is not installed")
        let tool = try Self.tool()
        let cases: [(code: String, status: Int32, output: String?)] = [
            ("print('fine')", 0, "fine\n"),
            ("import sys\nprint('before'); sys.exit(4)", 4, "before\n"),
            ("raise SystemExit('bye')", 1, "bye\n"),
            ("raise KeyError('k')", 1, nil),
            ("import os, sys\nsys.stdout.write('unflushed')\nos._exit(7)", 7, nil),
            ("import os, signal\nprint('x', flush=True)\nos.kill(os.getpid(), signal.SIGKILL)", 128 + SIGKILL, "x\n"),
        ]
        for (code, status, output) in cases {
            let outcome = try await tool.execute(code: code, warm: true)
            #expect(outcome.exitStatus == status, "\(code): \(outcome)")
            #expect(!outcome.timedOut && !outcome.outputFlood, "\(code): \(outcome)")
            if let output { #expect(outcome.output == output, "\(code): \(outcome.output)") }
        }
        let traceback = try await tool.execute(code: "def f():\n    raise KeyError('k')\nf()", warm: true)
        #expect(traceback.output.hasPrefix("Traceback (most recent call last):\n  File \"<code>\", line 3, in <module>\n"))
        #expect(traceback.output.hasSuffix("KeyError: 'k'\n"))
        let killed = try await tool.execute(code: "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", warm: true)
        do {
            _ = try tool.interpret(killed)
            Issue.record("a killed program was reported as a success")
        } catch let error as ToolError {
            #expect(error.code == .limitExceeded && error.message.contains("killed by signal 9"), "\(error)")
        }
    }

    @Test("without an exit record (older bwrap) a sandbox is waited for, with the same statuses")
    func withoutARecordTheExitIsAwaited() async throws {
        try #require(PythonToolTests.bwrapAvailable, "bubblewrap is not installed")
        let tool = try Self.tool()
        #expect(tool.pool.command.exitRecords, "this bwrap has --json-status-fd")
        for (code, status) in [("import sys\nprint('out')\nsys.exit(5)", Int32(5)), ("raise ValueError", 1)] {
            let (argv, environment) = tool.pool.command.arguments(workDirectory: "/tmp", exitRecord: false)
            #expect(!argv.contains("--json-status-fd"))
            let process = try SandboxSpawner.shared.spawn(argv, environment: environment)
            let outcome = await withCheckedContinuation { continuation in
                Thread.detachNewThread {
                    continuation.resume(returning: process.run(
                        input: Array(code.utf8), timeout: 3, outputCap: 4096, killAfterBytes: 1 << 20))
                }
            }
            #expect(outcome.exitStatus == status && !outcome.timedOut, "\(code): \(outcome)")
        }
    }

    @Test("output written right before the exit is all there, however the program ends")
    func outputBeforeTheRecordIsDrained() async throws {
        try #require(PythonToolTests.bwrapAvailable, "bubblewrap is not installed")
        var settings = PythonToolTests.settings()
        settings.maxOutputBytes = 1 << 20
        let tool = try PythonTool(settings: settings)
        let code = "import os\nos.write(1, b'a' * 200000)\nos.write(2, b'b' * 100000)\nos._exit(0)"
        let outcome = try await tool.execute(code: code, warm: true)
        #expect(outcome.exitStatus == 0)
        #expect(outcome.totalBytes == 300_000)
        #expect(outcome.output.utf8.filter { $0 == UInt8(ascii: "a") }.count == 200_000)
    }

    @Test("a finished sandbox and what it left running are ended in the background")
    func finishedSandboxesAreReaped() async throws {
        try #require(PythonToolTests.bwrapAvailable, "bubblewrap is not installed")
        let tool = try Self.tool()
        let process = try tool.pool.take()
        let pid = process.pid
        let code = "import os, time\nif os.fork() == 0:\n    time.sleep(60)\nprint('parent done')"
        let outcome = await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(returning: process.run(
                    input: Array(code.utf8), timeout: 3, outputCap: 4096, killAfterBytes: 1 << 20))
            }
        }
        #expect(outcome.exitStatus == 0 && outcome.output == "parent done\n" && !outcome.timedOut)
        let deadline = ContinuousClock.now + .seconds(10)
        while kill(pid, 0) == 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(kill(pid, 0) != 0 && errno == ESRCH, "bwrap \(pid) was not reaped")
        // The pool was topped up once the taken sandbox was gone.
        while tool.pool.readyCount < 2 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(tool.pool.readyCount == 2)
    }
}
