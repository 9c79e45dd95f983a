import Foundation
import Synchronization

/// The coordinator's ZAP handler (ZeroMQ RFC 27): admits CURVE clients whose public key is on
/// the authorized list and refuses every other one.
///
/// A CURVE server socket with a ZAP domain (`CurveOptions.server`) asks the handler bound to
/// `inproc://zeromq.zap.01` in its own context about each client that completes the CURVE
/// handshake. libzmq admits everyone when no handler is bound, so the authenticator must be
/// created *before* the server socket binds; `init` returns only once its socket is bound.
///
/// A dedicated thread owns the REP socket. This handle is thread-safe: counters may be read from
/// anywhere, `stop()` may be called from any thread. Call `stop()` before the context goes away
/// (`ZMQContext.deinit` waits for every socket to close).
public final class CurveAuthenticator: Sendable {
    /// The endpoint libzmq sends ZAP requests to (RFC 27).
    public static let endpoint = "inproc://zeromq.zap.01"

    /// One refused client, for the coordinator's log.
    public struct Refusal: Sendable, CustomStringConvertible {
        /// The client's CURVE public key in Z85 ("" when it offered no CURVE credentials).
        public var publicKey: String
        /// The client's address as libzmq reports it (IP without port).
        public var address: String
        /// The security mechanism the client used ("CURVE" in practice).
        public var mechanism: String
        /// How many times this key has been refused so far, this one included.
        public var timesRefused: Int

        public var description: String {
            let key = publicKey.isEmpty ? "no CURVE key" : "key \(publicKey)"
            let again = timesRefused > 1 ? " (refused \(timesRefused) times)" : ""
            return "refused \(mechanism) client from \(address.isEmpty ? "unknown address" : address): \(key) is not authorized\(again)"
        }
    }

    private enum Command: Sendable {
        case stop
    }

    private let mailbox = Mailbox<Command>()
    private let tally = Tally()
    private let finished: DispatchSemaphore
    /// The Z85 keys admitted, canonical (decoded and re-encoded).
    public let authorizedKeys: Set<String>

    /// Clients admitted so far. Thread-safe.
    public var admissions: Int { tally.counts.withLock { $0.admitted } }

    /// Clients refused so far (each handshake counts, so a refused peer that keeps reconnecting
    /// keeps counting). Thread-safe.
    public var refusals: Int { tally.counts.withLock { $0.refused } }

    /// Starts the handler thread and binds its socket in `context`; returns once bound.
    ///
    /// `authorizedKeys` are Z85 public keys. `onRefusal` runs on the handler thread for the first
    /// refusal of a key and then at 10, 100, 1000… refusals of it, so a peer that keeps
    /// reconnecting does not flood the log (every refusal is counted all the same).
    /// Throws `.badKey` for a malformed key and `.transport` when the ZAP endpoint is taken
    /// (another handler already runs in this context).
    public init(
        context: ZMQContext, authorizedKeys: [String],
        onRefusal: @escaping @Sendable (Refusal) -> Void = { _ in }
    ) throws {
        var canonical = Set<String>()
        for (index, key) in authorizedKeys.enumerated() {
            canonical.insert(CurveKey.encode(try CurveKey.decode(key, what: "authorized key \(index + 1)")))
        }
        self.authorizedKeys = canonical
        let mailbox = self.mailbox
        let started = DispatchSemaphore(value: 0)
        let finished = DispatchSemaphore(value: 0)
        self.finished = finished
        nonisolated(unsafe) var startError: (any Error)?
        let tally = self.tally
        let thread = Thread { [canonical] in
            defer { finished.signal() }
            let socket: ZMQSocket
            do {
                socket = try ZMQSocket(context: context, type: .reply)
                try socket.bind(Self.endpoint)
            } catch {
                startError = error
                started.signal()
                return
            }
            started.signal()
            var handler = ZAPHandler(authorizedKeys: canonical)
            var poller = Poller()
            let socketIndex = poller.add(socket)
            let mailboxIndex = poller.add(fileDescriptor: mailbox.fileDescriptor)
            loop: while true {
                let ready = poller.wait(timeoutMilliseconds: -1)
                if ready[mailboxIndex].readable, mailbox.drain().contains(where: { if case .stop = $0 { true } else { false } }) {
                    break loop
                }
                guard ready[socketIndex].readable else { continue }
                while let request = try? socket.receive() {
                    let answer = handler.answer(request)
                    tally.record(admitted: answer.admitted)
                    if let refusal = answer.refusalToReport { onRefusal(refusal) }
                    _ = try? socket.send(answer.frames)
                }
            }
            socket.unbind(Self.endpoint)
            socket.close()
        }
        thread.name = "arbor-zap"
        thread.start()
        started.wait()
        if let startError {
            finished.wait()
            throw startError
        }
    }

    /// Stops the handler and closes its socket; waits for the thread. Idempotent, thread-safe.
    /// Stop it only after the CURVE server socket is closed: a server without its handler would
    /// be left to libzmq's default for an absent handler.
    public func stop() {
        mailbox.post(.stop)
        finished.wait()
        finished.signal()
    }
}

/// The admitted and refused counts, shared by the handle and the handler thread.
private final class Tally: Sendable {
    struct Counts {
        var admitted = 0
        var refused = 0
    }

    let counts = Mutex(Counts())

    func record(admitted: Bool) {
        counts.withLock {
            if admitted { $0.admitted += 1 } else { $0.refused += 1 }
        }
    }
}

/// The ZAP decision logic (RFC 27), apart from the socket so it reads top to bottom.
/// Handler thread only.
struct ZAPHandler {
    /// What to send back and what to count and report.
    struct Answer {
        var frames: [Frame]
        var admitted: Bool
        var refusalToReport: CurveAuthenticator.Refusal?
    }

    let authorizedKeys: Set<String>
    /// Refusals per key, to thin out repeated log lines; cleared when it grows past `keyLimit`
    /// so a peer cycling through fresh keys cannot grow it without bound.
    private var refusedKeys: [String: Int] = [:]
    private let keyLimit = 4096

    init(authorizedKeys: Set<String>) {
        self.authorizedKeys = authorizedKeys
    }

    /// Answers one ZAP request. Request frames (after the REP envelope): version "1.0",
    /// request id, domain, address, routing id, mechanism, credentials…; reply frames: version,
    /// request id, status code, status text, user id, metadata.
    mutating func answer(_ request: [Frame]) -> Answer {
        guard request.count >= 6, String(decoding: request[0], as: UTF8.self) == "1.0" else {
            let requestID = request.count > 1 ? request[1] : []
            return Answer(
                frames: Self.reply(requestID: requestID, code: "500", text: "malformed ZAP request", userID: ""),
                admitted: false, refusalToReport: nil)
        }
        let requestID = request[1]
        let address = String(decoding: request[3], as: UTF8.self)
        let mechanism = String(decoding: request[5], as: UTF8.self)
        var publicKey = ""
        if mechanism == "CURVE", request.count >= 7, request[6].count == 32 {
            publicKey = CurveKey.encode(request[6])
        }
        if !publicKey.isEmpty && authorizedKeys.contains(publicKey) {
            return Answer(
                frames: Self.reply(requestID: requestID, code: "200", text: "OK", userID: publicKey),
                admitted: true, refusalToReport: nil)
        }
        if refusedKeys.count >= keyLimit { refusedKeys.removeAll(keepingCapacity: true) }
        let times = refusedKeys[publicKey, default: 0] + 1
        refusedKeys[publicKey] = times
        let report = Self.isPowerOfTen(times)
        return Answer(
            frames: Self.reply(requestID: requestID, code: "400", text: "key not authorized", userID: ""),
            admitted: false,
            refusalToReport: report
                ? CurveAuthenticator.Refusal(
                    publicKey: publicKey, address: address, mechanism: mechanism, timesRefused: times)
                : nil)
    }

    private static func reply(requestID: Frame, code: String, text: String, userID: String) -> [Frame] {
        [Array("1.0".utf8), requestID, Array(code.utf8), Array(text.utf8), Array(userID.utf8), []]
    }

    private static func isPowerOfTen(_ value: Int) -> Bool {
        var rest = value
        while rest >= 10 && rest % 10 == 0 { rest /= 10 }
        return rest == 1
    }
}
