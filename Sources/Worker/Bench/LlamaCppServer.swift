import Foundation
import Synchronization

/// llama-cpp-python's OpenAI-compatible server on a free loopback port, for `arbor bench rollout`
/// (and the openai backend's tests).
///
/// `arbor bench rollout` starts it with its best settings for many concurrent requests on this
/// package (`Settings.fastest`): `n_threads` and `n_threads_batch` = the engine's threads, flash
/// attention on, a 512-token batch, the prompt cache on (it restores the saved KV state of the
/// longest cached prefix, so a tree's branches do not re-prefill their shared prompt after
/// another tree's request), and requests never interrupting each other. The package's server has
/// no parallel slots (no `n_parallel`, no unified KV across requests): it serves one completion at
/// a time behind a lock, so `parallelSlots` is 1.
///
/// The server dies with this process on every path: `stop()` (SIGTERM, then SIGKILL), and the
/// kernel's parent-death signal (`ParentDeathSignal`, set before the server loads) for a crash or
/// `kill -9` of the benchmark. Thread-safe.
public final class LlamaCppServer: Sendable {
    /// Base URL, `http://127.0.0.1:PORT/v1`.
    public let url: String
    /// Completions the server decodes at once.
    public static let parallelSlots = 1
    /// The command line it was started with (for the report).
    public let settings: String
    private let process: Process

    /// How the server is tuned.
    public enum Settings: Sendable {
        /// The benchmark's: the fastest this package allows for a stream of tree requests.
        case fastest
        /// The package's defaults (threads aside): no prompt cache, so what a request samples does
        /// not depend on what the server served before. The openai backend's test tree made its
        /// tool calls in every run this way; with restored cache states, some runs made none.
        case defaults
    }

    private init(url: String, settings: String, process: Process) {
        self.url = url
        self.settings = settings
        self.process = process
    }

    /// Starts the server of `python` (a venv with `llama-cpp-python[server]`) on `model` with
    /// `threads` threads and waits up to 120 s for `/v1/models` to answer. Its output goes to
    /// `$TMPDIR/arbor-llama-server-PORT.log`. Callable from any thread. Throws `WorkerError(.io)`
    /// when it cannot start, `.backend` when it does not come up.
    public static func start(
        python: String, model: String, threads: Int, contextLength: Int = 2048, settings tuning: Settings = .fastest
    ) throws -> LlamaCppServer {
        let port = try freePort()
        var arguments = [
            "--model", model, "--host", "127.0.0.1", "--port", "\(port)", "--n_ctx", "\(contextLength)",
            "--n_threads", "\(threads)", "--verbose", "False",
        ]
        if tuning == .fastest {
            arguments += [
                "--n_threads_batch", "\(threads)", "--n_batch", "512", "--flash_attn", "True", "--cache", "True",
                "--interrupt_requests", "False",
            ]
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-m", "llama_cpp.server"] + arguments
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("arbor-llama-server-\(port).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)  // opening it below reports a failure
        do {
            let handle = try FileHandle(forWritingTo: log)
            process.standardOutput = handle
            process.standardError = handle
            // SIGKILL when this process dies (uvicorn would wait out the request in progress on
            // SIGTERM, and nobody is left to read it), armed from the long-lived spawner thread.
            try ParentDeathSignal.run(process)
        } catch {
            throw WorkerError(.io, "cannot start llama-cpp-python's server with \(python)", cause: error)
        }
        let server = LlamaCppServer(
            url: "http://127.0.0.1:\(port)/v1", settings: "llama_cpp.server " + arguments.joined(separator: " "),
            process: process)
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline, process.isRunning {
            if let data = try? Data(contentsOf: URL(string: "\(server.url)/models")!), !data.isEmpty { return server }
            Thread.sleep(forTimeInterval: 0.3)
        }
        server.stop()
        throw WorkerError(.backend, "llama-cpp-python's server did not come up on port \(port); see \(log.path)")
    }

    /// The server's process id (for a signal handler that must not block).
    public var processIdentifier: Int32 { process.processIdentifier }

    /// Stops the server (SIGTERM, then SIGKILL after 5 s: uvicorn may wait on open connections)
    /// and waits for it. Safe to call more than once.
    public func stop() {
        if process.isRunning { process.terminate() }
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// A loopback TCP port nobody listens on right now (bound to port 0, then released).
    static func freePort() throws -> Int {
        let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw WorkerError(.io, "socket() failed") }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0
            }
        }
        guard bound else { throw WorkerError(.io, "could not bind a loopback port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
