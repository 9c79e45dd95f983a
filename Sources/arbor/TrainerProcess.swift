import Foundation
import Synchronization
import Worker

/// The trainer process `arbor run` starts (`trainer.command` or `--trainer`): spawned in a
/// process group of its own, so stopping it also stops whatever it started; its output lines are
/// prefixed with `[trainer] ` on stderr, and the last ones are kept for the report of a crash.
///
/// Thread-safe. `onExit` runs once, on the thread that waits for the process.
final class TrainerProcess: Sendable {
    /// How the process ended.
    struct Exit: Sendable, Equatable {
        /// The exit code, or 128 + the signal number when a signal killed it (as a shell says).
        var status: Int32
        /// "exited with status 3", "was killed by signal 9".
        var description: String
    }

    /// Lines kept for the crash report.
    static let keptLines = 20

    let argv: [String]
    private let state = Mutex(State())
    private let finished = DispatchSemaphore(value: 0)

    private struct State {
        var pid: pid_t = 0
        var exit: Exit?
        var lastLines: [String] = []
        /// Set when `arbor run` itself stops the trainer: its exit is then not a failure.
        var stoppedByUs = false
    }

    init(argv: [String]) {
        self.argv = argv
    }

    /// Spawns the trainer in `directory` with `environment` added to this process's own. Throws
    /// a `ValidationError`-style message naming the command when it cannot start.
    func start(directory: String, environment: [String: String], onExit: @escaping @Sendable (Exit) -> Void) throws {
        var fds: [Int32] = [0, 0]
        // Close-on-exec: workers started later must not hold the write end (the reader would never
        // see the end of the output).
        guard pipe(&fds) == 0 else { throw TrainerStartError("cannot create a pipe: errno \(errno)") }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        let envStrings = merged.map { "\($0.key)=\($0.value)" }
        // The trainer dies with `arbor run`, even a `kill -9`'d one: it starts under
        // `setpriv --pdeathsig KILL`, and that signal follows the *thread* that spawned it, so the
        // spawn happens on the thread that then waits for the trainer and lives exactly as long.
        // (`posix_spawn_file_actions_addchdir_np` is not visible to Swift: a shell changes to the
        // directory and `exec`s the trainer, which keeps its pid and so its process group.)
        let launch = ParentDeathSignal.arguments(
            ["/bin/sh", "-c", #"cd -- "$1" && shift && exec "$@""#, "arbor-trainer", directory] + argv)
        let spawned = Mutex<(pid: pid_t, result: Int32)?>(nil)
        let ready = DispatchSemaphore(value: 0)
        let (readEnd, writeEnd) = (fds[0], fds[1])
        let waiter = Thread { [self] in
            let outcome = Self.spawn(launch, environment: envStrings, output: writeEnd, closing: readEnd)
            if outcome.result == 0 { state.withLock { $0.pid = outcome.pid } }
            spawned.withLock { $0 = outcome }
            ready.signal()
            guard outcome.result == 0 else { return }
            var raw: Int32 = 0
            while waitpid(outcome.pid, &raw, 0) < 0 && errno == EINTR {}
            let exit = Self.describe(raw)
            state.withLock { $0.exit = exit }
            finished.signal()
            onExit(exit)
        }
        waiter.name = "arbor-trainer-wait"
        waiter.start()
        ready.wait()
        close(writeEnd)
        let result = spawned.withLock { $0!.result }
        guard result == 0 else {
            close(readEnd)
            throw TrainerStartError(
                "cannot start the trainer '\(argv.joined(separator: " "))' in \(directory): "
                    + String(cString: strerror(result)))
        }
        let reader = Thread { [self] in self.relay(readEnd) }
        reader.name = "arbor-trainer-output"
        reader.start()
    }

    /// posix_spawns `launch` (argv[0] a full path) with `environment`, its stdout and stderr on
    /// `output`, `unused` closed in the child, in a process group of its own and with default
    /// signal handling. Returns the pid and posix_spawn's result (0 on success).
    private static func spawn(
        _ launch: [String], environment: [String], output: Int32, closing unused: Int32
    ) -> (pid: pid_t, result: Int32) {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, output, STDOUT_FILENO)
        posix_spawn_file_actions_adddup2(&actions, output, STDERR_FILENO)
        posix_spawn_file_actions_addclose(&actions, unused)
        posix_spawn_file_actions_addclose(&actions, output)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // A group of its own (pgid = its pid): one kill reaches the trainer and its children.
        posix_spawnattr_setpgroup(&attributes, 0)
        // `arbor run` ignores SIGINT/SIGTERM (it handles them itself); the trainer must not
        // inherit that, or SIGTERM would not stop it.
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGPIPE] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        // Nor the spawning thread's signal mask, which blocks SIGTERM.
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        posix_spawnattr_setsigmask(&attributes, &unblocked)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        var pid: pid_t = 0
        let result = withCStrings(launch) { cArgv in
            withCStrings(environment) { cEnv in
                posix_spawn(&pid, launch[0], &actions, &attributes, cArgv, cEnv)
            }
        }
        return (pid, result)
    }

    /// The process's exit, once it has exited.
    var exit: Exit? { state.withLock { $0.exit } }
    /// Whether `stop` (not the trainer itself) ended it.
    var wasStoppedByUs: Bool { state.withLock { $0.stoppedByUs } }
    /// The last lines it printed, oldest first.
    var lastLines: [String] { state.withLock { $0.lastLines } }

    /// Sends SIGTERM to the trainer's process group; after `grace` seconds SIGKILL. Returns
    /// once it has exited. What is left of its group (children that outlived a trainer that
    /// already exited) is killed too.
    func stop(grace: Double) {
        let (pid, running): (pid_t, Bool) = state.withLock { state in
            if state.pid > 0, state.exit == nil { state.stoppedByUs = true }
            return (state.pid, state.exit == nil)
        }
        guard pid > 0 else { return }
        if running {
            kill(-pid, SIGTERM)
            if !waitForExit(timeout: grace) {
                kill(-pid, SIGKILL)
                _ = waitForExit(timeout: 10)
            }
        }
        kill(-pid, SIGKILL)
    }

    /// Sends SIGTERM to the group at once, without waiting (signal handlers).
    func terminate() {
        let pid = state.withLock { state -> pid_t in
            if state.exit == nil { state.stoppedByUs = true }
            return state.pid
        }
        if pid > 0 { kill(-pid, SIGTERM) }
    }

    /// Waits up to `timeout` seconds for the exit; true when it has exited.
    @discardableResult
    func waitForExit(timeout: Double) -> Bool {
        if exit != nil { return true }
        guard state.withLock({ $0.pid }) > 0 else { return true }
        if finished.wait(timeout: .now() + timeout) == .success {
            finished.signal()
            return true
        }
        return false
    }

    /// Copies the trainer's output to stderr line by line, prefixed, keeping the last lines.
    private func relay(_ descriptor: Int32) {
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        var pending = Data()
        while true {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            pending.append(chunk)
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                emit(String(decoding: pending[pending.startIndex..<newline], as: UTF8.self))
                pending.removeSubrange(pending.startIndex...newline)
            }
        }
        if !pending.isEmpty { emit(String(decoding: pending, as: UTF8.self)) }
    }

    private func emit(_ line: String) {
        state.withLock { state in
            state.lastLines.append(line)
            if state.lastLines.count > Self.keptLines {
                state.lastLines.removeFirst(state.lastLines.count - Self.keptLines)
            }
        }
        FileHandle.standardError.write(Data("[trainer] \(line)\n".utf8))
    }

    static func describe(_ raw: Int32) -> Exit {
        // WIFEXITED / WEXITSTATUS / WTERMSIG, spelled out (the C macros are not imported).
        let signal = raw & 0x7f
        if signal == 0 {
            let code = (raw >> 8) & 0xff
            return Exit(status: code, description: "exited with status \(code)")
        }
        return Exit(status: 128 + signal, description: "was killed by signal \(signal)")
    }

    private static func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
        var pointers = strings.map { strdup($0) }
        pointers.append(nil)
        defer { for pointer in pointers { free(pointer) } }
        return body(pointers)
    }
}

/// The trainer could not be started.
struct TrainerStartError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
