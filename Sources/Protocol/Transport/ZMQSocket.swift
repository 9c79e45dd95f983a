import CZMQ
import Foundation

/// One frame of a ZeroMQ message.
public typealias Frame = [UInt8]

/// The socket types Arbor uses.
public enum ZMQSocketType: Sendable {
    /// Coordinator side: many peers, each message prefixed by the peer's routing id.
    case router
    /// Worker and control-client side: one connection, no envelope.
    case dealer
    /// Strict request/reply answering side (the ZAP handler, `CurveAuthenticator`).
    case reply

    var raw: Int32 {
        switch self {
        case .router: ZMQ_ROUTER
        case .dealer: ZMQ_DEALER
        case .reply: ZMQ_REP
        }
    }
}

/// Options applied to a socket before it binds or connects.
public struct ZMQSocketOptions: Sendable {
    /// Milliseconds pending messages may linger after close; 0 so a dead peer never blocks exit.
    public var lingerMilliseconds: Int32 = 0
    /// Queued messages per peer before sends would block (we never block: see `SocketThread`).
    public var sendHighWaterMark: Int32 = 10_000
    public var receiveHighWaterMark: Int32 = 10_000
    /// Frames larger than this are refused by libzmq, which drops the connection that sent them.
    public var maxMessageBytes: Int64 = 64 << 20
    /// ROUTER only: report unroutable peers instead of dropping silently.
    public var routerMandatory = true
    /// DEALER only: the routing id the ROUTER sees (workers use their worker id).
    public var routingID: String? = nil
    /// Milliseconds between libzmq's reconnect attempts (the worker's own backoff sits above this).
    public var reconnectIntervalMilliseconds: Int32 = 100
    /// CURVE security; nil means plain TCP.
    public var curve: CurveOptions? = nil

    public init() {}
}

/// CURVE keys for one side of a connection, Z85-encoded (40 characters each).
public enum CurveOptions: Sendable {
    /// The coordinator: its own secret key. Which clients are admitted is decided by the ZAP
    /// handler (`CurveAuthenticator`).
    case server(secretKey: String)
    /// A worker or client: its own key pair and the server's public key.
    case client(publicKey: String, secretKey: String, serverPublicKey: String)
}

/// A libzmq socket, owned by the thread that created it.
///
/// Not `Sendable`: every call must come from the owning thread, and each one checks it
/// (`precondition`, always on) because libzmq sockets corrupt silently when shared. Other threads
/// talk to a socket through `SocketThread`'s handle.
public final class ZMQSocket {
    let handle: UnsafeMutableRawPointer
    let type: ZMQSocketType
    private let owner: pthread_t
    private var closed = false

    /// Creates a socket on the calling thread, which becomes its owner. Throws `.transport`.
    public init(context: ZMQContext, type: ZMQSocketType, options: ZMQSocketOptions = .init()) throws {
        guard let handle = zmq_socket(context.handle, type.raw) else {
            throw ProtocolError(.transport, "cannot create a ZeroMQ socket: \(ZMQContext.lastError())")
        }
        self.handle = handle
        self.type = type
        self.owner = pthread_self()
        try apply(options)
    }

    deinit {
        if !closed { zmq_close(handle) }
    }

    private func checkOwner() {
        precondition(pthread_equal(pthread_self(), owner) != 0, "ZMQSocket used off its owning thread")
    }

    // MARK: Options

    private func apply(_ options: ZMQSocketOptions) throws {
        try set(ZMQ_LINGER, options.lingerMilliseconds, "linger")
        try set(ZMQ_SNDHWM, options.sendHighWaterMark, "sndhwm")
        try set(ZMQ_RCVHWM, options.receiveHighWaterMark, "rcvhwm")
        try set(ZMQ_MAXMSGSIZE, options.maxMessageBytes, "maxmsgsize")
        try set(ZMQ_RECONNECT_IVL, options.reconnectIntervalMilliseconds, "reconnect_ivl")
        if type == .router {
            try set(ZMQ_ROUTER_MANDATORY, Int32(options.routerMandatory ? 1 : 0), "router_mandatory")
            // A reconnecting worker reuses its routing id; the new connection takes it over.
            try set(ZMQ_ROUTER_HANDOVER, Int32(1), "router_handover")
        }
        if let id = options.routingID {
            try setBytes(ZMQ_ROUTING_ID, Array(id.utf8), "routing_id")
        }
        switch options.curve {
        case nil:
            break
        case .server(let secret):
            try set(ZMQ_CURVE_SERVER, Int32(1), "curve_server")
            try setBytes(ZMQ_CURVE_SECRETKEY, try CurveKey.decode(secret, what: "server secret key"), "curve_secretkey")
            // Naming a ZAP domain makes libzmq ask the ZAP handler about every client.
            try setBytes(ZMQ_ZAP_DOMAIN, Array("arbor".utf8), "zap_domain")
        case .client(let publicKey, let secretKey, let serverKey):
            try setBytes(ZMQ_CURVE_SERVERKEY, try CurveKey.decode(serverKey, what: "server public key"), "curve_serverkey")
            try setBytes(ZMQ_CURVE_PUBLICKEY, try CurveKey.decode(publicKey, what: "public key"), "curve_publickey")
            try setBytes(ZMQ_CURVE_SECRETKEY, try CurveKey.decode(secretKey, what: "secret key"), "curve_secretkey")
        }
    }

    private func set<T: FixedWidthInteger>(_ option: Int32, _ value: T, _ name: String) throws {
        let rc = withUnsafeBytes(of: value) { zmq_setsockopt(handle, option, $0.baseAddress, $0.count) }
        if rc != 0 {
            throw ProtocolError(.transport, "cannot set socket option \(name): \(ZMQContext.lastError())")
        }
    }

    private func setBytes(_ option: Int32, _ bytes: [UInt8], _ name: String) throws {
        let rc = bytes.withUnsafeBytes { zmq_setsockopt(handle, option, $0.baseAddress, $0.count) }
        if rc != 0 {
            throw ProtocolError(.transport, "cannot set socket option \(name): \(ZMQContext.lastError())")
        }
    }

    // MARK: Endpoints

    /// Binds and returns the endpoint actually bound. Port 0 (`tcp://127.0.0.1:0`) picks a free
    /// port, as the CLI's endpoint options promise; the returned endpoint names it. Owning thread only.
    @discardableResult
    public func bind(_ endpoint: String) throws -> String {
        checkOwner()
        let wanted = endpoint.hasSuffix(":0") ? String(endpoint.dropLast(2)) + ":*" : endpoint
        if zmq_bind(handle, wanted) != 0 {
            throw ProtocolError(.transport, "cannot bind \(endpoint): \(ZMQContext.lastError())")
        }
        var buffer = [CChar](repeating: 0, count: 256)
        var size = buffer.count
        zmq_getsockopt(handle, ZMQ_LAST_ENDPOINT, &buffer, &size)
        return String(zeroTerminated: buffer)
    }

    /// Releases a bound endpoint now (closing releases it only later, on libzmq's reaper thread,
    /// so an endpoint rebound right after `close` could still be taken). Owning thread only.
    public func unbind(_ endpoint: String) {
        checkOwner()
        _ = zmq_unbind(handle, endpoint)
    }

    /// Connects (asynchronously: libzmq retries until the peer is there). Owning thread only.
    public func connect(_ endpoint: String) throws {
        checkOwner()
        if zmq_connect(handle, endpoint) != 0 {
            throw ProtocolError(.transport, "cannot connect to \(endpoint): \(ZMQContext.lastError())")
        }
    }

    // MARK: Messages

    /// Result of a non-blocking send.
    public enum SendOutcome: Sendable, Equatable {
        case sent
        /// The peer's queue is full (high-water mark); try again when the socket is writable.
        case wouldBlock
        /// ROUTER: no peer with that routing id is connected.
        case unroutable
    }

    /// Sends one multipart message without blocking. Owning thread only. Throws `.transport`
    /// for failures other than a full queue or an unknown peer.
    public func send(_ frames: [Frame]) throws -> SendOutcome {
        checkOwner()
        for (index, frame) in frames.enumerated() {
            let more = index < frames.count - 1 ? ZMQ_SNDMORE : 0
            let rc = frame.withUnsafeBytes { zmq_send(handle, $0.baseAddress, $0.count, ZMQ_DONTWAIT | more) }
            if rc < 0 {
                let errno = zmq_errno()
                // libzmq sends multipart messages atomically: a failure on the first frame means
                // nothing went out, and later frames cannot fail once the first was queued.
                if errno == EAGAIN { return .wouldBlock }
                if errno == EHOSTUNREACH { return .unroutable }
                throw ProtocolError(.transport, "send failed: \(ZMQContext.lastError())")
            }
        }
        return .sent
    }

    /// Receives one multipart message if one is waiting, else nil. Owning thread only.
    public func receive() throws -> [Frame]? {
        checkOwner()
        var frames: [Frame] = []
        while true {
            var message = zmq_msg_t()
            zmq_msg_init(&message)
            defer { zmq_msg_close(&message) }
            let rc = zmq_msg_recv(&message, handle, ZMQ_DONTWAIT)
            if rc < 0 {
                let errno = zmq_errno()
                if errno == EAGAIN && frames.isEmpty { return nil }
                if errno == EINTR { continue }
                throw ProtocolError(.transport, "receive failed: \(ZMQContext.lastError())")
            }
            let size = zmq_msg_size(&message)
            let data = zmq_msg_data(&message)
            frames.append(size == 0 ? [] : Array(UnsafeRawBufferPointer(start: data, count: size)))
            if zmq_msg_more(&message) == 0 { return frames }
        }
    }

    /// Closes the socket now. Owning thread only; idempotent.
    public func close() {
        checkOwner()
        if !closed {
            zmq_close(handle)
            closed = true
        }
    }
}

extension String {
    /// A string from a zero-terminated C character buffer filled in by libzmq.
    init(zeroTerminated buffer: [CChar]) {
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        self = String(decoding: bytes, as: UTF8.self)
    }
}
