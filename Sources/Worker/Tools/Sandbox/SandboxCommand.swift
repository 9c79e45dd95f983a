import ArborProtocol
import Foundation
import Synchronization

/// The argv that starts one python sandbox: bubblewrap around the interpreter running a small
/// launcher, which sets the rlimits, drops root, then blocks reading the code from stdin.
///
/// Isolation (bwrap 0.8): new pid, net, ipc, uts and cgroup namespaces (`--unshare-net`: no
/// network at all, not even loopback); `/usr` (and the interpreter's prefix when it lives outside
/// /usr) bound read-only; no /etc, /home, /root or project tree; a private size-limited tmpfs on
/// /tmp as the only writable place; a fresh /proc showing only the sandbox's processes; empty
/// environment. `--die-with-parent` plus the pid namespace mean that killing the bwrap process
/// group kills everything the code started. When the worker runs as root, no user namespace is
/// used and the launcher switches to a throwaway uid (one per sandbox, from 61000 up) so that
/// RLIMIT_NPROC, which the kernel does not apply to root, does apply.
///
/// Where bwrap has `--json-status-fd` (0.5 and later), it reports the program's exit on the
/// spawned process's fd 3 (see `SandboxExitRecord`), a fd it keeps out of the sandbox.
final class SandboxCommand: Sendable {
    /// Path of the bwrap binary, or nil to run unsandboxed.
    let bubblewrap: String?
    let settings: PythonToolSettings
    /// Whether bwrap can report the program's exit on a status fd (`hasExitRecords`).
    let exitRecords: Bool
    private let nextUID = Mutex(0)

    /// A command for `settings`, looking `bwrap` up on `PATH` (or `bubblewrapPath` when given).
    /// Throws `ToolError(.sandboxUnavailable)` when bwrap is missing and unsandboxed runs are not
    /// allowed, with how to fix it.
    init(settings: PythonToolSettings, bubblewrapPath: String? = nil, searchPath: String? = nil) throws {
        self.settings = settings
        let found = bubblewrapPath ?? Self.lookUp("bwrap", in: searchPath ?? ProcessInfo.processInfo.environment["PATH"])
        if found == nil && !settings.allowUnsandboxed {
            throw ToolError(
                .sandboxUnavailable,
                "the python tool needs bubblewrap: 'bwrap' was not found on PATH. Install it (apt-get install "
                    + "bubblewrap) or set tools.python.allow_unsandboxed: true to run model code with the "
                    + "worker's own rights")
        }
        bubblewrap = found
        exitRecords = found.map(Self.hasExitRecords) ?? false
        guard FileManager.default.isExecutableFile(atPath: settings.interpreter) else {
            throw ToolError(
                .sandboxUnavailable,
                "tools.python.interpreter '\(settings.interpreter)' is not an executable file; give an absolute path")
        }
    }

    /// Whether code runs inside bubblewrap.
    var isSandboxed: Bool { bubblewrap != nil }

    /// argv and environment of a new sandbox; `workDirectory` is where an unsandboxed run works.
    /// With `exitRecord` and `exitRecords`, the sandbox must be spawned with a status pipe
    /// (`SandboxProcess.spawn(statusPipe: true)`).
    func arguments(workDirectory: String, exitRecord: Bool = true) -> (argv: [String], environment: [String]) {
        let isRoot = geteuid() == 0
        let uid = isRoot && isSandboxed ? 61_000 + nextUID.withLock { n in defer { n = (n + 1) % 4_000 }; return n } : -1
        let limits = [
            settings.cpuSeconds, settings.memoryMB << 20, settings.maxProcesses, settings.maxFileMB << 20, uid,
        ].map(String.init)
        let python = [settings.interpreter, "-u", "-I", "-c", Self.launcher]
            + limits + [isSandboxed ? "/tmp" : workDirectory]
        guard let bubblewrap else {
            return (python, ["PATH=/usr/bin:/bin", "HOME=\(workDirectory)", "LANG=C.UTF-8"])
        }
        var argv = [bubblewrap, "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-net",
            "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
        argv += isRoot ? ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"] : ["--unshare-user"]
        argv += ["--ro-bind", "/usr", "/usr"]
        for top in ["/bin", "/sbin", "/lib", "/lib64", "/lib32"] {
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: top) {
                argv += ["--symlink", target, top]
            } else if FileManager.default.fileExists(atPath: top) {
                argv += ["--ro-bind", top, top]
            }
        }
        if !settings.interpreter.hasPrefix("/usr/") {
            let prefix = URL(fileURLWithPath: settings.interpreter).deletingLastPathComponent()
                .deletingLastPathComponent().path
            argv += ["--ro-bind", prefix, prefix]
        }
        let tmpBytes = String(max(settings.maxFileMB, 1) << 22)
        argv += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--size", tmpBytes, "--tmpfs", "/tmp",
            "--chdir", "/tmp", "--clearenv", "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "HOME", "/tmp",
            "--setenv", "LANG", "C.UTF-8"]
        if exitRecord && exitRecords { argv += ["--json-status-fd", String(SandboxProcess.statusChildFD)] }
        return (argv + ["--"] + python, ["PATH=/usr/bin:/bin"])
    }

    /// Whether the bwrap at `path` lists `--json-status-fd` in its help.
    static func hasExitRecords(_ path: String) -> Bool {
        guard let help = try? SandboxSpawner.shared.spawn([path, "--help"], environment: [])
            .run(input: [], timeout: 5, outputCap: 1 << 16, killAfterBytes: 1 << 20)
        else { return false }
        return help.output.contains("--json-status-fd")
    }

    /// Finds an executable called `name` on a colon-separated search path.
    static func lookUp(_ name: String, in searchPath: String?) -> String? {
        for directory in (searchPath ?? "").split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// The launcher (trusted code, runs before the model's): argv = cpu_s as_bytes nproc
    /// fsize_bytes uid workdir. Hard and soft limits are set equal so the code cannot raise them.
    /// It first closes every fd but stdio: bwrap passes on whatever the worker left inheritable,
    /// and the code must not reach the worker's files or sockets through it.
    /// While it waits it has already compiled a small program: the first `compile` in an
    /// interpreter costs about 0.8 ms of one-time set-up, which would otherwise fall on the call.
    /// The traceback of a failing program starts at the model's code, not at the launcher; it is
    /// printed by the interpreter's built-in hook, so a failing call does not pay for importing
    /// `traceback`. It ends with `os._exit` after flushing: the sandbox is thrown away, so
    /// interpreter teardown (module finalisation, garbage collection, atexit handlers) is
    /// skipped, which is most of a trivial call's latency.
    static let launcher = """
        import os, resource, sys
        os.closerange(3, 1 << 30)
        WARM = '''
        import sys
        def f(n, *a, k=1):
            for i in range(n):
                if i % 2: continue
            return [x * k for x in a if x], {"a": f"{n!r:>3}"}
        try:
            print(f(3), file=sys.stderr)
        except (OSError, ValueError) as e:
            raise RuntimeError(str(e)) from e
        '''
        cpu, mem, nproc, fsize, uid = (int(a) for a in sys.argv[1:6])
        for which, value in ((resource.RLIMIT_CPU, cpu), (resource.RLIMIT_AS, mem),
                             (resource.RLIMIT_NPROC, nproc), (resource.RLIMIT_FSIZE, fsize),
                             (resource.RLIMIT_CORE, 0)):
            resource.setrlimit(which, (value, value))
        os.chdir(sys.argv[6])
        if uid >= 0 and os.getuid() == 0:
            os.setgroups([]); os.setgid(uid); os.setuid(uid)
        compile(WARM, "<warm>", "exec")
        null = os.open(os.devnull, os.O_RDONLY)
        source = sys.stdin.buffer.read()
        os.dup2(null, 0); os.close(null)
        sys.argv = ["code"]
        del os, resource, cpu, mem, nproc, fsize, uid, which, value, null, WARM
        status = 0
        try:
            exec(compile(source, "<code>", "exec"), {"__name__": "__main__", "__builtins__": __builtins__})
        except SystemExit as stop:
            if stop.code is None or isinstance(stop.code, int):
                status = stop.code or 0
            else:
                print(stop.code, file=sys.stderr)
                status = 1
        except BaseException as error:
            error.__traceback__ = error.__traceback__.tb_next
            sys.__excepthook__(type(error), error, error.__traceback__)
            status = 1
        try:
            sys.stdout.flush(); sys.stderr.flush()
        except BaseException:
            status = status or 1
        __import__("os")._exit(status & 0xff)
        """
}
