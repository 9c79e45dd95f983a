import ArgumentParser
import Foundation
import Logging

/// Where the coordinator listens: shared by `arbor coordinator` and `arbor run`.
struct EndpointOptions: ParsableArguments {
    @Option(help: "Worker socket endpoint to bind (port 0 picks a free port).")
    var bind = "tcp://127.0.0.1:5555"

    @Option(help: "Control socket endpoint to bind, for `arbor status` and trainers (port 0 picks a free port).")
    var control = "tcp://127.0.0.1:5556"

    @Option(help: "HTTP address (HOST:PORT) for /metrics, /api/status, /healthz and the dashboard; none when omitted (port 0 picks a free port).")
    var http: String?

    func validate() throws {
        for (name, endpoint) in [("--bind", bind), ("--control", control)] where !endpoint.contains("://") {
            throw ValidationError("\(name) \(endpoint) is not a ZeroMQ endpoint; write it like tcp://127.0.0.1:5555")
        }
        if let http, http.contains("://"), !http.hasPrefix("http://") {
            throw ValidationError("--http \(http) is not an HTTP address; write it like 127.0.0.1:8080")
        }
    }
}

/// Log level and format, shared by every long-running command.
struct LoggingOptions: ParsableArguments {
    @Option(help: "Lowest level logged: trace, debug, info, notice, warning, error or critical.")
    var logLevel: Logger.Level = .info

    @Option(help: "Log line format on standard error: text, or json (one object per line: ts, level, label, message, metadata).")
    var logFormat: LogFormat = .text

    /// How log lines are written.
    enum LogFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
        case text, json
    }

    /// Sets up swift-log for the process; call once, first thing in `run()`.
    func bootstrap() {
        let level = logLevel
        switch logFormat {
        case .text:
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        case .json:
            LoggingSystem.bootstrap { label in
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
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
