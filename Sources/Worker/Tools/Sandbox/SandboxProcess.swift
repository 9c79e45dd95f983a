import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// How one sandboxed run ended.
struct SandboxOutcome: Sendable, Equatable {
    /// stdout and stderr interleaved in arrival order: all of it, or its head when truncated.
    var output: String
    /// The last bytes when truncated (a traceback ends there), else empty.
    var tail: String = ""
    /// Bytes produced in all (kept or not).
    var totalBytes: Int
    /// Output went past the cap and was cut.
    var truncated: Bool
    /// Output went past the kill threshold and the process was killed for it.
    var outputFlood: Bool
    /// The wall-clock limit passed and the process group was killed.
    var timedOut: Bool
    /// Exit status when the process exited, nil when a signal ended it.
    var exitStatus: Int32?
    /// The terminating signal when a signal ended it.
    var signal: Int32?
}

/// A child process with piped stdin/stdout/stderr in its own process group.
///
/// Owned by one thread at a time (the pool hands it over; `run` blocks its caller), hence
/// `@unchecked Sendable` for the hand-over only. Killing the group (`kill(-pid)`) ends the child
/// and, under bwrap's pid namespace, everything it started.
final class SandboxProcess: @unchecked Sendable {
    let pid: pid_t
    private var stdinFD: Int32
    private let stdoutFD: Int32
    private let stderrFD: Int32
    private var reaped = false
    /// Cleanup run after the process is reaped (removes an unsandboxed run's work directory).
    var onReap: (@Sendable () -> Void)?

    /// The worker must not die of SIGPIPE when a sandbox exits before reading its input.
    private static let spawnLock = Mutex(())

    private static let ignoreSIGPIPE: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

    private init(pid: pid_t, stdin: Int32, stdout: Int32, stderr: Int32) {
        self.pid = pid
        stdinFD = stdin
        stdoutFD = stdout
        stderrFD = stderr
    }

    /// Starts `argv[0]` (an absolute path) with `environment`, in a new process group, signals at
    /// their defaults. Throws `ToolError(.sandboxUnavailable)` when the spawn fails.
    static func spawn(_ argv: [String], environment: [String]) throws -> SandboxProcess {
        _ = ignoreSIGPIPE
        // Pipes and spawn happen under one lock: a pipe end created by one call must be marked
        // close-on-exec before another call's child is spawned, or that child would hold it open
        // and this call would never see end-of-file.
        let (pid, input, output, errors) = try spawnLock.withLock { _ in
            var input: [Int32] = [0, 0], output: [Int32] = [0, 0], errors: [Int32] = [0, 0]
            guard pipe(&input) == 0 else { throw spawnError("pipe", errno) }
            guard pipe(&output) == 0 else {
                closeAll(input)
                throw spawnError("pipe", errno)
            }
            guard pipe(&errors) == 0 else {
                closeAll(input + output)
                throw spawnError("pipe", errno)
            }
            for fd in input + output + errors { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            defer { posix_spawn_file_actions_destroy(&actions) }
            posix_spawn_file_actions_adddup2(&actions, input[0], 0)
            posix_spawn_file_actions_adddup2(&actions, output[1], 1)
            posix_spawn_file_actions_adddup2(&actions, errors[1], 2)
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
            let status = withCStrings(argv) { args in
                withCStrings(environment) { env in posix_spawn(&pid, argv[0], &actions, &attributes, args, env) }
            }
            close(input[0])
            close(output[1])
            close(errors[1])
            guard status == 0 else {
                closeAll([input[1], output[0], errors[0]])
                throw spawnError("posix_spawn \(argv[0])", status)
            }
            return (pid, input, output, errors)
        }
        for fd in [input[1], output[0], errors[0]] { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        return SandboxProcess(pid: pid, stdin: input[1], stdout: output[0], stderr: errors[0])
    }

    /// Sends `input` on stdin, closes it, and collects output until the process exits or
    /// `timeout` passes (then the group is killed). Past `killAfterBytes` of output the group is
    /// killed too. Blocks the calling thread: call it from a sandbox thread, never from the I/O
    /// thread.
    func run(input: [UInt8], timeout: Double, outputCap: Int, killAfterBytes: Int) -> SandboxOutcome {
        let deadline = ContinuousClock.now + .milliseconds(Int64(timeout * 1000))
        let tailCap = outputCap / 4
        var kept: [UInt8] = [], tail: [UInt8] = []
        kept.reserveCapacity(min(outputCap, 65_536))
        var total = 0, written = 0
        var openOutputs: Set<Int32> = [stdoutFD, stderrFD]
        var timedOut = false, flood = false
        var chunk = [UInt8](repeating: 0, count: 65_536)
        if input.isEmpty { closeStdin() }
        while !openOutputs.isEmpty {
            let remaining = ContinuousClock.now.duration(to: deadline)
            if remaining <= .zero {
                timedOut = true
                break
            }
            var fds = openOutputs.sorted().map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            if stdinFD >= 0 { fds.append(pollfd(fd: stdinFD, events: Int16(POLLOUT), revents: 0)) }
            let waitMS = Int32(min(50, max(1, remaining.components.seconds * 1000
                + remaining.components.attoseconds / 1_000_000_000_000_000)))
            let ready = poll(&fds, nfds_t(fds.count), waitMS)
            if ready < 0 && errno != EINTR { break }
            for entry in fds where entry.revents != 0 {
                if entry.fd == stdinFD {
                    let n = input.withUnsafeBytes { buffer in
                        write(stdinFD, buffer.baseAddress! + written, input.count - written)
                    }
                    if n > 0 { written += n }
                    if n < 0 && errno != EAGAIN && errno != EINTR { closeStdin() }
                    if written >= input.count { closeStdin() }
                    continue
                }
                let n = read(entry.fd, &chunk, chunk.count)
                if n > 0 {
                    total += n
                    let head = min(n, outputCap - kept.count)
                    if head > 0 { kept += chunk[0..<head] }
                    if head < n {
                        tail += chunk[head..<n]
                        if tail.count > 2 * tailCap + 65_536 { tail.removeFirst(tail.count - tailCap) }
                    }
                } else if n == 0 || (errno != EAGAIN && errno != EINTR) {
                    openOutputs.remove(entry.fd)
                }
            }
            if total > killAfterBytes {
                flood = true
                break
            }
        }
        if timedOut || flood { kill() }
        closeStdin()
        let status = reap(deadline: timedOut || flood ? nil : deadline)
        if status == nil { timedOut = true }
        let code = status ?? 9
        let exited = code & 0x7f == 0
        let truncated = total > outputCap
        if truncated {
            tail = Array((kept + tail).suffix(tailCap))
            kept = Array(kept.prefix(outputCap - tailCap))
        }
        return SandboxOutcome(
            output: String(decoding: kept, as: UTF8.self), tail: String(decoding: tail, as: UTF8.self),
            totalBytes: total, truncated: truncated,
            outputFlood: flood, timedOut: timedOut,
            exitStatus: exited ? (code >> 8) & 0xff : nil, signal: exited ? nil : code & 0x7f)
    }

    /// SIGKILLs the whole process group. Thread-safe; harmless after exit.
    func kill() {
        if !reaped { _ = Glibc.kill(-pid, SIGKILL) }
    }

    /// Waits for the child; past `deadline` kills the group and waits again. Returns the raw wait
    /// status, or nil when the deadline passed first.
    private func reap(deadline: ContinuousClock.Instant?) -> Int32? {
        guard !reaped else { return nil }
        var status: Int32 = 0
        var killed = false
        while true {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid || (result < 0 && errno == ECHILD) { break }
            if !killed, deadline.map({ ContinuousClock.now >= $0 }) ?? true {
                if deadline != nil { killed = true }
                kill()
                _ = waitpid(pid, &status, 0)
                break
            }
            usleep(200)
        }
        _ = Glibc.kill(-pid, SIGKILL)
        reaped = true
        onReap?()
        return killed ? nil : status
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
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)
            onReap?()
        }
        closeStdin()
        close(stdoutFD)
        close(stderrFD)
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
