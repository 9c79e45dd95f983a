import Foundation

/// Starts a Foundation `Process` so that it is SIGKILLed when this process dies, however it dies
/// (`kill -9` included): for MCP servers, the benchmark's llama.cpp run and the tests' llama.cpp
/// server.
///
/// The child is started through util-linux's `setpriv --pdeathsig KILL`, which arms
/// PR_SET_PDEATHSIG and then execs the real command (the signal survives the exec). The signal
/// follows the *thread* that spawned the child, so the spawn happens on `SandboxSpawner`'s
/// long-lived thread: from a cooperative-pool thread, which the runtime may retire at any moment,
/// the child would be killed at random. Without setpriv (not Linux's util-linux) the command runs
/// as given and only its stdin's end-of-file tells it the parent is gone.
/// TODO: a parent that dies in the ~1 ms before setpriv arms the signal is not noticed; the
/// children here all read stdin or are stopped explicitly.
public enum ParentDeathSignal {
    /// setpriv's path, looked up once in /usr/bin and /bin.
    static let setpriv = SandboxCommand.lookUp("setpriv", in: "/usr/bin:/bin")

    /// `argv` prefixed so that it is killed with this process (unchanged without setpriv).
    public static func arguments(_ argv: [String]) -> [String] {
        guard let setpriv else { return argv }
        return [setpriv, "--pdeathsig", "KILL", "--"] + argv
    }

    /// Rewrites `process` (its executable and arguments, already set) through `arguments(_:)` and
    /// runs it from the long-lived spawner thread. Throws what `Process.run` throws.
    public static func run(_ process: Process) throws {
        guard let executable = process.executableURL?.path else { return try process.run() }
        let argv = arguments([executable] + (process.arguments ?? []))
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
        try SandboxSpawner.shared.onSpawnerThread { try process.run() }
    }
}
