import ArgumentParser
import Foundation
import Logging

/// Where the coordinator listens: shared by `arbor coordinator` and `arbor run`.
struct EndpointOptions: ParsableArguments {
    @Option(help: "Worker socket endpoint to bind (port 0 picks a free port).")
    var bind = "tcp://127.0.0.1:5555"

    @Option(help: "Control socket endpoint to bind, for `arbor status` and trainers (port 0 picks a free port).")
    var control = "tcp://127.0.0.1:5556"

    @Option(help: "HTTP address for /metrics, /api/status and the dashboard (port 0 picks a free port).")
    var http = "127.0.0.1:8080"

    func validate() throws {
        for (name, endpoint) in [("--bind", bind), ("--control", control)] where !endpoint.contains("://") {
            throw ValidationError("\(name) \(endpoint) is not a ZeroMQ endpoint; write it like tcp://127.0.0.1:5555")
        }
    }
}

/// Log level and format, shared by every long-running command.
struct LoggingOptions: ParsableArguments {
    @Option(help: "Lowest level logged: trace, debug, info, notice, warning, error or critical.")
    var logLevel: Logger.Level = .info

    /// Sets up swift-log for the process; call once, first thing in `run()`.
    func bootstrap() {
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// Runs `body` on SIGINT/SIGTERM; the handlers live as long as the returned sources.
func onTerminationSignals(_ body: @escaping @Sendable (Int32) -> Void) -> [any DispatchSourceSignal] {
    [SIGINT, SIGTERM].map { signalNumber in
        signal(signalNumber, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
        source.setEventHandler { body(signalNumber) }
        source.resume()
        return source
    }
}
