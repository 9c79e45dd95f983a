import Foundation
import Logging

/// What `/healthz` knows of the coordinator loop; guarded by the service's mutex.
struct HTTPLiveness: Sendable {
    var loopRunning = false
    /// Monotonic seconds of the last status publication.
    var lastPublished = -Double.infinity
    var shutdownRequested = false

    /// Alive: the loop runs and published within the last two seconds (it publishes 4×/s, so a
    /// stale snapshot means the transport thread is stuck).
    func isAlive(now: Double) -> Bool { loopRunning && now - lastPublished < 2 }
}

extension CoordinatorService {
    /// A started HTTP server and its bound URL.
    struct RunningHTTP {
        let server: StatusServer
        let url: String

        func stop() { server.stop() }
    }

    /// Starts the HTTP server when `Options.http` names an address; nil otherwise.
    func startHTTP() async throws -> RunningHTTP? {
        guard let address = httpOptions.address else { return nil }
        let server = try StatusServer(
            address: address,
            source: .init(
                status: { [self] in currentStatus },
                isAlive: { [self] in isLoopAlive }, trees: treeSource.trees, text: treeSource.text),
            logger: httpLogger)
        let url = try await server.start()
        httpLogger.info("dashboard and metrics at \(url)")
        return RunningHTTP(server: server, url: url)
    }

    /// Keeps the HTTP server up for `Options.httpLinger` seconds after the job, or until
    /// `shutdown` is asked.
    func linger() async {
        let deadline = Clock.now() + httpOptions.linger
        while Clock.now() < deadline, !isShutdownRequested {
            try? await Task.sleep(nanoseconds: 100_000_000)
        }
    }
}
