/// The one error type of ArborProtocol: transport failures and frames that are not Arbor messages.
public struct ProtocolError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, as a small closed set that callers switch on.
    public enum Code: String, Sendable {
        /// A ZeroMQ call failed (bind, connect, option, send, receive).
        case transport
        /// A frame did not decode as an `Envelope`.
        case badFrame
        /// A frame carried a protocol version this build does not speak.
        case unsupportedVersion
        /// A frame decoded but carried no body or a body that makes no sense here.
        case unexpectedMessage
        /// A frame exceeded the configured maximum size.
        case frameTooLarge
        /// A CURVE key was malformed or missing.
        case badKey
    }

    public var code: Code
    /// Names what failed and where (endpoint, option, frame field).
    public var message: String
    public var cause: (any Error)?

    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String {
        if let cause { return "\(message) (\(cause))" }
        return message
    }
}
