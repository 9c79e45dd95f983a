import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The one long-lived thread that starts every sandbox process, and the record of the sandboxes
/// still alive, so that the process can tear them all down before it exits.
///
/// Load-bearing: bwrap's `--die-with-parent` uses PR_SET_PDEATHSIG, which fires when the *thread*
/// that spawned the child exits, not the process. A sandbox spawned from a short-lived thread (a
/// pool refill, a cooperative-pool thread that the runtime retires) would be SIGKILLed at a random
/// moment. Spawning from a thread that lives as long as the process keeps the signal for its real
/// purpose: the worker dying.
///
/// `--die-with-parent` alone does not end a sandbox whose bwrap dies early: bwrap arms it in its
/// namespace init only after setup, and an init whose outer bwrap is killed before that (a pool
/// refill racing the command's exit, or a drain) waits forever, re-parented to PID 1. So, where
/// the process may (CAP_SYS_ADMIN), each sandbox's outer process is started as PID 1 of a fresh
/// PID namespace of its own: when it dies, for whatever reason, the kernel kills everything in
/// that namespace, bwrap's own namespaces included. Thread-safe; `spawn` blocks its caller for the
/// spawn itself (~1 ms).
final class SandboxSpawner: @unchecked Sendable {
    /// The process-wide spawner.
    static let shared = SandboxSpawner()

    private let condition = NSCondition()
    private var queue: [() -> Void] = []
    /// Outer pids spawned and not yet reaped; after `tearDown`, nothing more is spawned.
    private let live = Mutex<(pids: Set<pid_t>, closed: Bool)>(([], false))
    /// This process's own PID namespace, to return to after each spawn; -1 where the process may
    /// not create namespaces (then sandboxes rely on `--die-with-parent` alone).
    private let ownNamespace: Int32

    private init() {
        ownNamespace = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC)
        let thread = Thread { [unowned self] in serve() }
        thread.name = "arbor-sandbox-spawner"
        thread.start()
    }

    /// Whether the latest sandbox got a PID namespace of its own (see the type's comment); false
    /// without CAP_SYS_ADMIN.
    var isolatesNamespaces: Bool { isolated.load(ordering: .relaxed) }
    private let isolated = Atomic<Bool>(false)

    /// Spawns `argv` on the spawner thread (see `SandboxProcess.spawn`). Throws
    /// `ToolError(.sandboxUnavailable)` when the spawn fails or the process is tearing down.
    func spawn(_ argv: [String], environment: [String], statusPipe: Bool = false) throws -> SandboxProcess {
        try onSpawnerThread {
            guard !self.live.withLock({ $0.closed }) else {
                throw ToolError(.sandboxUnavailable, "could not start the sandbox: the process is shutting down")
            }
            let isolated = self.enterFreshNamespace()
            defer { if isolated { self.leaveFreshNamespace() } }
            let process = try SandboxProcess.spawn(argv, environment: environment, statusPipe: statusPipe)
            self.live.withLock { _ = $0.pids.insert(process.pid) }
            return process
        }
    }

    /// Runs `body` on the spawner thread and returns its result: a child started there keeps its
    /// parent-death signal for as long as this process lives.
    func onSpawnerThread<T>(_ body: @escaping () throws -> T) throws -> T {
        let done = NSCondition()
        var result: Result<T, any Error>?
        condition.lock()
        queue.append {
            let outcome = Result { try body() }
            done.lock()
            result = outcome
            done.signal()
            done.unlock()
        }
        condition.signal()
        condition.unlock()
        done.lock()
        while result == nil { done.wait() }
        done.unlock()
        return try result!.get()
    }

    /// Called by `SandboxProcess` while `pid` is a zombie, just before it is reaped: from then on
    /// the pid may be reused, so `tearDown` must not signal it.
    func forget(_ pid: pid_t) {
        live.withLock { _ = $0.pids.remove(pid) }
    }

    /// Stops all spawning and SIGKILLs every sandbox still alive (waiting in a pool, running, or
    /// waiting for the reaper), then waits up to `timeout` seconds until each has exited. Called
    /// as a command or worker exits. Thread-safe; later spawns throw.
    func tearDown(timeout: Double = 5) {
        // Queued spawns run before this marker; anything after it sees `closed`.
        _ = try? onSpawnerThread { self.live.withLock { $0.closed = true } }
        let pids = live.withLock { state in
            for pid in state.pids { _ = kill(-pid, SIGKILL) }
            return state.pids
        }
        let deadline = ContinuousClock.now + .milliseconds(Int64(timeout * 1000))
        var waiting = pids
        while !waiting.isEmpty && ContinuousClock.now < deadline {
            // A sandbox's outer process becomes a zombie only once its PID namespace is empty.
            waiting = waiting.filter { pid in
                live.withLock { $0.pids.contains(pid) } && !SandboxProcess.hasExited(pid)
            }
            if !waiting.isEmpty { usleep(1_000) }
        }
    }

    /// Points the spawner thread's next child at a new PID namespace; false where not permitted
    /// (no CAP_SYS_ADMIN: EPERM).
    private func enterFreshNamespace() -> Bool {
        let entered = ownNamespace >= 0 && Self.unshare?(Self.newPIDNamespace) == 0
        isolated.store(entered, ordering: .relaxed)
        return entered
    }

    /// Points the spawner thread's children back at this process's own namespace (a thread may
    /// create a PID namespace only while its children would land in its own).
    private func leaveFreshNamespace() {
        _ = Self.setns?(ownNamespace, Self.newPIDNamespace)
    }

    /// CLONE_NEWPID from <sched.h>.
    private static let newPIDNamespace: Int32 = 0x2000_0000

    // glibc's unshare(2) and setns(2) are declared only under _GNU_SOURCE, which Swift's Glibc
    // module does not define; they are looked up by name instead.
    private static let unshare = function("unshare", as: (@convention(c) (Int32) -> Int32).self)
    private static let setns = function("setns", as: (@convention(c) (Int32, Int32) -> Int32).self)

    private static func function<F>(_ name: String, as type: F.Type) -> F? {
        dlsym(nil, name).map { unsafeBitCast($0, to: type) }
    }

    private func serve() {
        while true {
            condition.lock()
            while queue.isEmpty { condition.wait() }
            let job = queue.removeFirst()
            condition.unlock()
            job()
        }
    }
}
