import ArborProtocol
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

    /// Whether a ZeroMQ endpoint only accepts peers on this host: ipc:// and inproc://, or tcp://
    /// on 127.0.0.0/8, ::1 or localhost. Anything else (0.0.0.0, *, an interface, a LAN address)
    /// is reachable from other machines.
    static func isLoopback(_ endpoint: String) -> Bool {
        guard let schemeEnd = endpoint.range(of: "://") else { return false }
        let scheme = endpoint[..<schemeEnd.lowerBound].lowercased()
        if scheme == "ipc" || scheme == "inproc" { return true }
        guard scheme == "tcp" else { return false }
        var host = String(endpoint[schemeEnd.upperBound...])
        if let colon = host.lastIndex(of: ":") { host = String(host[..<colon]) }
        host = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
        if host == "localhost" || host == "::1" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false).map { UInt8($0) }
        return octets.count == 4 && octets.allSatisfy { $0 != nil } && octets[0] == 127
    }
}

/// CURVE keys for the coordinator's worker socket, and the explicit opt-out for plain TCP:
/// shared by `arbor coordinator` and `arbor run`.
struct CurveServerOptions: ParsableArguments {
    @Option(help: "The coordinator's CURVE secret key file (from `arbor keygen`): the worker socket then encrypts and admits only listed workers.")
    var curveSecret: String?

    @Option(help: "Worker public keys to admit: an authorized_keys file, or a directory of *.pub files.")
    var authorizedKeys: String?

    @Flag(help: "Allow binding the worker socket to a non-loopback address without CURVE keys (unauthenticated plain TCP).")
    var insecure = false

    /// Refuses a non-loopback worker socket without keys (unless --insecure), with a message that
    /// says how to fix it. `requireAuthorizedKeys`: the coordinator needs the list; `arbor run`
    /// authorizes its own workers itself.
    func validate(bind: String, requireAuthorizedKeys: Bool) throws {
        if authorizedKeys != nil && curveSecret == nil {
            throw ValidationError("--authorized-keys needs --curve-secret (the coordinator's secret key file)")
        }
        if curveSecret != nil && authorizedKeys == nil && requireAuthorizedKeys {
            throw ValidationError(
                "--curve-secret needs --authorized-keys FILE|DIR listing the workers' public keys "
                    + "(`arbor keygen --out DIR` writes DIR/authorized_keys)")
        }
        if curveSecret != nil && insecure {
            throw ValidationError("--insecure and --curve-secret contradict each other; pass one of them")
        }
        if curveSecret == nil && !insecure && !EndpointOptions.isLoopback(bind) {
            throw ValidationError(
                "--bind \(bind) accepts workers from other machines, and without CURVE keys anyone who reaches "
                    + "the port could register as a worker. Generate keys with `arbor keygen --out keys --workers N` "
                    + "and pass --curve-secret keys/coordinator.key --authorized-keys keys/authorized_keys, "
                    + "or pass --insecure to run unauthenticated on purpose.")
        }
    }

    /// The coordinator's CURVE options and the admitted worker keys, read from the key files;
    /// nil without --curve-secret. Throws `ProtocolError(.badKey)` naming the file.
    func serverKeys() throws -> (curve: CurveOptions, authorized: [String])? {
        guard let curveSecret else { return nil }
        let secret = try CurveKey.read(path: curveSecret, what: "CURVE secret key")
        let authorized = try authorizedKeys.map { try CurveKey.authorizedKeys(atPath: $0) } ?? []
        return (.server(secretKey: secret), authorized)
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

/// Runs `body` on SIGINT/SIGTERM for the rest of the process's life.
func onTerminationSignals(_ body: @escaping @Sendable (Int32) -> Void) -> [any DispatchSourceSignal] {
    let sources: [any DispatchSourceSignal] = [SIGINT, SIGTERM].map { signalNumber in
        signal(signalNumber, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
        source.setEventHandler { body(signalNumber) }
        source.resume()
        return source
    }
    // Signal dispositions are process-wide, so the sources live as long as the process: a source
    // released early (an optimiser may end a local's lifetime at its last use) would put the
    // default action back and the next SIGTERM would kill the process without draining.
    SignalSources.keep(sources)
    return sources
}

/// Keeps signal sources alive for the life of the process.
private enum SignalSources {
    nonisolated(unsafe) private static var kept: [any DispatchSourceSignal] = []
    private static let lock = NSLock()

    static func keep(_ sources: [any DispatchSourceSignal]) {
        lock.withLock { kept += sources }
    }
}
