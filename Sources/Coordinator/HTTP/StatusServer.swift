import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// The coordinator's HTTP face: `/metrics` (Prometheus text exposition), `/api/status` (the
/// status document as JSON), `/healthz`, the dashboard at `/`, and the tree viewer at `/trees`
/// over `/api/trees` (`StatusServer+Trees.swift`). Read-only; status answers are built from the
/// latest published `JobStatus` and tree answers from the run directory's files, so serving
/// never touches the transport thread.
///
/// Thread-safe handle. The server runs on Hummingbird's event loops in a task of its own, inside a
/// service group of its own (the coordinator handles the signals); `start()` returns once the
/// listening socket is bound, and `stop()` shuts it down gracefully.
public final class StatusServer: Sendable {
    /// What the server reads on each request; both closures must be thread-safe and cheap.
    public struct Source: Sendable {
        /// The latest status snapshot; nil before the coordinator loop published one.
        public var status: @Sendable () -> JobStatus?
        /// Whether the coordinator loop is alive (for `/healthz`).
        public var isAlive: @Sendable () -> Bool
        /// The run directory's trees for `/api/trees`; nil answers 404 there.
        public var trees: RunTrees?
        /// Decodes token ids the trees carry without text (prompts, old runs); nil shows none.
        public var text: TokenText?

        /// Creates a source from the two readers and, for the tree viewer, the run's trees.
        public init(
            status: @escaping @Sendable () -> JobStatus?, isAlive: @escaping @Sendable () -> Bool,
            trees: RunTrees? = nil, text: TokenText? = nil
        ) {
            self.status = status
            self.isAlive = isAlive
            self.trees = trees
            self.text = text
        }
    }

    private let host: String
    private let port: Int
    private let source: Source
    private let logger: Logger
    private let group = Mutex<ServiceGroup?>(nil)

    /// Parses `address` (`HOST:PORT`, optionally prefixed `http://`; port 0 picks a free port).
    /// Throws `CoordinatorError(.io)` when it is not an address.
    public init(address: String, source: Source, logger: Logger) throws {
        (host, port) = try Self.parse(address)
        self.source = source
        self.logger = logger
    }

    /// Binds and starts serving; returns the bound address as a URL (`http://127.0.0.1:PORT`).
    /// Throws `CoordinatorError(.io)` when the address cannot be bound.
    public func start() async throws -> String {
        let router = Router()
        let source = self.source
        router.get("/metrics") { _, _ -> Response in
            guard let status = source.status() else { return Self.text("no status yet\n", status: .serviceUnavailable) }
            return Self.text(MetricsExposition(status: status).text, contentType: MetricsExposition.contentType)
        }
        router.get("/api/status") { _, _ -> Response in
            guard let status = source.status() else { return Self.text("{}", status: .serviceUnavailable) }
            return Self.text(status.json(), contentType: "application/json")
        }
        router.get("/healthz") { _, _ -> Response in
            source.isAlive()
                ? Self.text("ok\n") : Self.text("coordinator loop not running\n", status: .serviceUnavailable)
        }
        router.get("/") { _, _ -> Response in
            Self.text(DashboardPage.html, contentType: "text/html; charset=utf-8")
        }
        Self.addTreeRoutes(to: router, source: source)
        let (bound, boundContinuation) = AsyncStream<Int?>.makeStream()
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .warning)
        let app = Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: "arbor"),
            onServerRunning: { channel in
                boundContinuation.yield(channel.localAddress?.port)
                boundContinuation.finish()
            },
            logger: quiet)
        let address = "\(host):\(port)"
        var configuration = ServiceGroupConfiguration(services: [app], logger: quiet)
        // Idle keep-alive connections (a dashboard polling) are closed at once; a request still
        // running after this is cut short.
        configuration.maximumGracefulShutdownDuration = .seconds(2)
        let serviceGroup = ServiceGroup(configuration: configuration)
        group.withLock { $0 = serviceGroup }
        Task {
            do {
                try await serviceGroup.run()
            } catch {
                quiet.error("HTTP server at \(address) stopped: \(error)")
            }
            boundContinuation.finish()
        }
        var iterator = bound.makeAsyncIterator()
        guard let boundPort = await iterator.next() ?? nil else {
            stop()
            throw CoordinatorError(.io, "--http \(address): could not bind the HTTP server")
        }
        return "http://\(host):\(boundPort)"
    }

    /// Stops serving: the listening socket closes, idle connections close, and a request still
    /// running after 2 s is cut short. Returns at once. Thread-safe; idempotent.
    public func stop() {
        let running = group.withLock { current -> ServiceGroup? in
            defer { current = nil }
            return current
        }
        guard let running else { return }
        Task { await running.triggerGracefulShutdown() }
    }

    static func text(
        _ body: String, status: HTTPResponse.Status = .ok, contentType: String = "text/plain; charset=utf-8"
    ) -> Response {
        var buffer = ByteBuffer()
        buffer.writeString(body)
        return Response(
            status: status, headers: [.contentType: contentType, .cacheControl: "no-store"], body: .init(byteBuffer: buffer))
    }

    /// Splits `HOST:PORT` (an `http://` prefix and a trailing `/` are allowed; an empty host means
    /// 127.0.0.1).
    static func parse(_ address: String) throws -> (host: String, port: Int) {
        var rest = Substring(address)
        if rest.hasPrefix("http://") { rest = rest.dropFirst("http://".count) }
        while rest.hasSuffix("/") { rest = rest.dropLast() }
        guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]),
            (0...65535).contains(port)
        else {
            throw CoordinatorError(.io, "--http \(address) is not an HTTP address; write it like 127.0.0.1:8080")
        }
        let host = String(rest[..<colon])
        return (host.isEmpty ? "127.0.0.1" : host, port)
    }
}
