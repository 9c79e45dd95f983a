import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A child process with piped stdin/stdout/stderr in its own process group, and optionally a
/// status pipe on its fd 3 where bubblewrap reports the sandboxed program's exit.
///
/// The status pipe is what lets a call return as soon as the program is done: bwrap (outside the
/// sandbox; the fd is close-on-exec there, so nothing inside can write to it) writes
/// `{ "exit-code": N }` the moment the program has exited, before it tears the namespaces down.
/// `run` then drains what is left in the output pipes and returns; the process is killed and
/// reaped by `SandboxReaper`, off the caller's path. Without a record (no status pipe, or bwrap
/// died) `run` waits for the exit itself, as a plain child.
///
/// Owned by one thread at a time (the pool hands it over; `run` blocks its caller; after `run`
/// the reaper owns it), hence `@unchecked Sendable` for the hand-over only. Killing the group
/// (`kill(-pid)`) ends the child and, under bwrap's pid namespace, everything it started.
final class SandboxProcess: @unchecked Sendable {
    let pid: pid_t
    private var stdinFD: Int32
    private let stdoutFD: Int32
    private let stderrFD: Int32
    /// Read end of the status pipe, -1 without one.
    private let statusFD: Int32
    private var reaped = false
    /// Cleanup run once, after the process is reaped (removes an unsandboxed run's work
    /// directory; the pool tops itself up there).
    var onReap: (@Sendable () -> Void)?

    /// The child's fd for bwrap's `--json-status-fd`.
    static let statusChildFD: Int32 = 3

    /// Pipes and spawn happen under one lock (see `spawn`).
    private static let spawnLock = Mutex(())

    /// The worker must not die of SIGPIPE when a sandbox exits before reading its input.
    private static let ignoreSIGPIPE: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

    private init(pid: pid_t, stdin: Int32, stdout: Int32, stderr: Int32, status: Int32) {
        self.pid = pid
        stdinFD = stdin
        stdoutFD = stdout
        stderrFD = stderr
        statusFD = status
    }

    /// Starts `argv[0]` (an absolute path) with `environment`, in a new process group, signals at
    /// their defaults; with `statusPipe`, the write end of a fresh pipe is the child's fd 3.
    /// Throws `ToolError(.sandboxUnavailable)` when the spawn fails.
    static func spawn(_ argv: [String], environment: [String], statusPipe: Bool = false) throws -> SandboxProcess {
        _ = ignoreSIGPIPE
        // A pipe end created by one call must be marked close-on-exec before another call's
        // child is spawned, or that child would hold it open and this call would never see
        // end-of-file.
        let (pid, input, output, errors, status) = try spawnLock.withLock { _ in
            var pipes: [[Int32]] = []
            for _ in 0..<(statusPipe ? 4 : 3) {
                var ends: [Int32] = [0, 0]
                guard pipe(&ends) == 0 else {
                    let code = errno
                    closeAll(pipes.flatMap { $0 })
                    throw spawnError("pipe", code)
                }
                for fd in ends { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
                pipes.append(ends)
            }
            // The child's fds 0-3 are set by dup2; a pipe end that already sits on one of those
            // numbers would be clobbered (or keep close-on-exec), so move it above them.
            for index in pipes.indices {
                for end in 0..<2 where pipes[index][end] <= statusChildFD {
                    let moved = fcntl(pipes[index][end], F_DUPFD_CLOEXEC, statusChildFD + 1)
                    let code = errno
                    close(pipes[index][end])
                    pipes[index][end] = moved
                    guard moved >= 0 else {
                        closeAll(pipes.flatMap { $0 }.filter { $0 >= 0 })
                        throw spawnError("fcntl", code)
                    }
                }
            }
            let (input, output, errors) = (pipes[0], pipes[1], pipes[2])
            let status = statusPipe ? pipes[3] : [-1, -1]
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            defer { posix_spawn_file_actions_destroy(&actions) }
            posix_spawn_file_actions_adddup2(&actions, input[0], 0)
            posix_spawn_file_actions_adddup2(&actions, output[1], 1)
            posix_spawn_file_actions_adddup2(&actions, errors[1], 2)
            if statusPipe { posix_spawn_file_actions_adddup2(&actions, status[1], statusChildFD) }
            var attributes = posix_spawnattr_t()
            posix_spawnattr_init(&attributes)
            defer { posix_spawnattr_destroy(&attributes) }
            var noSignals = sigset_t(), allSignals = sigset_t()
            sigemptyset(&noSignals)
            sigfillset(&allSignals)
            posix_spawnattr_setsigmask(&attributes, &noSignals)
            posix_spawnattr_setsigdefault(&attributes, &allSignals)
            posix_spawnattr_setpgroup(&attributes, 0)
            let flags = POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
            posix_spawnattr_setflags(&attributes, Int16(flags))
            var pid: pid_t = 0
            let result = withCStrings(argv) { args in
                withCStrings(environment) { env in posix_spawn(&pid, argv[0], &actions, &attributes, args, env) }
            }
            closeAll([input[0], output[1], errors[1], status[1]].filter { $0 >= 0 })
            guard result == 0 else {
                closeAll([input[1], output[0], errors[0], status[0]].filter { $0 >= 0 })
                throw spawnError("posix_spawn \(argv[0])", result)
            }
            return (pid, input[1], output[0], errors[0], status[0])
        }
        for fd in [input, output, errors, status] where fd >= 0 {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
        return SandboxProcess(pid: pid, stdin: input, stdout: output, stderr: errors, status: status)
    }

    /// Sends `input` on stdin, closes it, and collects output until the program is done (its exit
    /// record arrives, or it exits) or `timeout` passes (then the group is killed). Past
    /// `killAfterBytes` of output the group is killed too. Blocks the calling thread: call it from
    /// a sandbox thread, never from the I/O thread. Hands the process to `SandboxReaper`: do not
    /// use it afterwards.
    func run(input: [UInt8], timeout: Double, outputCap: Int, killAfterBytes: Int) -> SandboxOutcome {
        let deadline = ContinuousClock.now + .milliseconds(Int64(timeout * 1000))
        var output = SandboxOutput(cap: outputCap)
        var openOutputs: Set<Int32> = [stdoutFD, stderrFD]
        var record = SandboxExitRecord()
        var statusOpen = statusFD >= 0
        var timedOut = false, flood = false
        var chunk = [UInt8](repeating: 0, count: 65_536)
        var written = 0
        sendInput(input, written: &written)
        while record.exitCode == nil && (!openOutputs.isEmpty || statusOpen) {
            let remaining = ContinuousClock.now.duration(to: deadline)
            if remaining <= .zero {
                timedOut = true
                break
            }
            var fds = openOutputs.sorted().map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            if statusOpen { fds.append(pollfd(fd: statusFD, events: Int16(POLLIN), revents: 0)) }
            if stdinFD >= 0 { fds.append(pollfd(fd: stdinFD, events: Int16(POLLOUT), revents: 0)) }
            let waitMS = Int32(min(50, max(1, remaining.components.seconds * 1000
                + remaining.components.attoseconds / 1_000_000_000_000_000)))
            let ready = poll(&fds, nfds_t(fds.count), waitMS)
            if ready < 0 && errno != EINTR { break }
            for entry in fds where entry.revents != 0 {
                if entry.fd == stdinFD {
                    sendInput(input, written: &written)
                } else if entry.fd == statusFD {
                    let n = read(statusFD, &chunk, chunk.count)
                    if n > 0 {
                        record.append(chunk[0..<n])
                    } else if n == 0 || (errno != EAGAIN && errno != EINTR) {
                        statusOpen = false
                    }
                } else if readOutput(entry.fd, into: &output, chunk: &chunk) == .closed {
                    openOutputs.remove(entry.fd)
                }
            }
            if output.total > killAfterBytes {
                flood = true
                break
            }
        }
        closeStdin()
        if let exitCode = record.exitCode, !timedOut, !flood {
            // The program has exited, so everything it wrote is in the pipes already.
            for fd in openOutputs {
                while readOutput(fd, into: &output, chunk: &chunk) == .read {}
            }
            SandboxReaper.shared.reap(self)
            return output.outcome(
                outputFlood: output.total > killAfterBytes, timedOut: false, exitStatus: exitCode, signal: nil)
        }
        if timedOut || flood { kill() }
        let status = reap(deadline: timedOut || flood ? nil : deadline)
        if status == nil { timedOut = true }
        let code = status ?? 9
        let exited = code & 0x7f == 0
        return output.outcome(
            outputFlood: flood, timedOut: timedOut,
            exitStatus: exited ? (code >> 8) & 0xff : nil, signal: exited ? nil : code & 0x7f)
    }

    /// Writes as much of the rest of `input` as the pipe takes; closes stdin when all is sent or
    /// the program stopped reading.
    private func sendInput(_ input: [UInt8], written: inout Int) {
        guard stdinFD >= 0 else { return }
        if written < input.count {
            let n = input.withUnsafeBytes { buffer in write(stdinFD, buffer.baseAddress! + written, input.count - written) }
            if n > 0 { written += n }
            if n < 0 && errno != EAGAIN && errno != EINTR { closeStdin() }
        }
        if written >= input.count { closeStdin() }
    }

    private enum ReadResult { case read, empty, closed }

    /// Reads what `fd` has (up to one chunk) into `output`: `.read`, `.empty` when nothing is
    /// waiting, `.closed` at end-of-file or on an error.
    private func readOutput(_ fd: Int32, into output: inout SandboxOutput, chunk: inout [UInt8]) -> ReadResult {
        let n = read(fd, &chunk, chunk.count)
        if n > 0 {
            output.append(chunk[0..<n])
            return .read
        }
        return n < 0 && (errno == EAGAIN || errno == EINTR) ? .empty : .closed
    }

    /// SIGKILLs the whole process group. Harmless after exit.
    func kill() {
        if !reaped { _ = Glibc.kill(-pid, SIGKILL) }
    }

    /// Kills what is left of a finished run and waits for it (the reaper's thread).
    func collect() {
        guard !reaped else { return }
        _ = Glibc.kill(-pid, SIGKILL)
        _ = reapExited()
        onReap?()
    }

    /// Waits for the child; past `deadline` kills the group and waits again. Returns the raw wait
    /// status, or nil when the deadline passed first.
    private func reap(deadline: ContinuousClock.Instant?) -> Int32? {
        guard !reaped else { return nil }
        var killed = false
        while !Self.hasExited(pid) {
            if deadline.map({ ContinuousClock.now >= $0 }) ?? true {
                killed = deadline != nil
                kill()
                break
            }
            usleep(200)
        }
        // Whatever the program left running in the group (the pid is still held: not reaped yet).
        _ = Glibc.kill(-pid, SIGKILL)
        let status = reapExited()
        onReap?()
        return killed ? nil : status
    }

    /// Whether child `pid` has exited (or is gone); does not reap it, so the pid stays taken.
    static func hasExited(_ pid: pid_t) -> Bool {
        var info = siginfo_t()
        guard waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 else { return errno != EINTR }
        return info._sifields._sigchld.si_pid == pid
    }

    /// Waits for the child to exit, tells the spawner while its pid is still taken (a zombie, so
    /// `SandboxSpawner.tearDown` never signals a reused pid), then reaps it. Returns the raw wait
    /// status.
    private func reapExited() -> Int32 {
        var info = siginfo_t()
        while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) < 0 && errno == EINTR {}
        SandboxSpawner.shared.forget(pid)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        reaped = true
        return status
    }

    private func closeStdin() {
        if stdinFD >= 0 {
            close(stdinFD)
            stdinFD = -1
        }
    }

    deinit {
        if !reaped {
            kill()
            _ = reapExited()
            onReap?()
        }
        closeStdin()
        Self.closeAll([stdoutFD, stderrFD, statusFD].filter { $0 >= 0 })
    }

    private static func spawnError(_ what: String, _ code: Int32) -> ToolError {
        ToolError(.sandboxUnavailable, "could not start the sandbox: \(what) failed: \(String(cString: strerror(code)))")
    }

    private static func closeAll(_ fds: [Int32]) {
        for fd in fds { close(fd) }
    }
}

/// Calls `body` with a NULL-terminated C array of `strings`.
private func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    pointers.append(nil)
    defer { for pointer in pointers { free(pointer) } }
    return body(pointers)
}
