import SwiftProtobuf

// Short names for the generated wire types (package arbor.v1), so code reads in domain nouns.
public typealias Envelope = Arbor_V1_Envelope
public typealias Body = Arbor_V1_Envelope.OneOf_Body
public typealias RegisterMessage = Arbor_V1_Register
public typealias RegisterAckMessage = Arbor_V1_RegisterAck
public typealias HeartbeatMessage = Arbor_V1_Heartbeat
public typealias RolloutRequest = Arbor_V1_RolloutRequest
public typealias RolloutResult = Arbor_V1_RolloutResult
public typealias RolloutSpec = Arbor_V1_RolloutSpec
public typealias RolloutStats = Arbor_V1_RolloutStats
public typealias TaskMessage = Arbor_V1_Task
public typealias WireTree = Arbor_V1_RolloutTree
public typealias WireTreeNode = Arbor_V1_TreeNode
public typealias WireToolCall = Arbor_V1_ToolCall
public typealias WireFormatCheck = Arbor_V1_FormatCheck
public typealias ErrorMessage = Arbor_V1_Error

/// Encoding and decoding of the one-frame-per-message wire format.
public enum Wire {
    /// The protocol version this build speaks; `Envelope.protocol_version` must equal it.
    public static let protocolVersion: UInt32 = 1

    /// Serializes a body into one frame. Thread-safe.
    public static func encode(_ body: Body, sequence: UInt64 = 0) -> Frame {
        var envelope = Envelope()
        envelope.protocolVersion = protocolVersion
        envelope.sequence = sequence
        envelope.body = body
        // Serializing a message we built ourselves cannot fail (no required fields in proto3).
        return (try? envelope.serializedBytes()) ?? []
    }

    /// Decodes one frame, checking the version and that a body is present.
    /// Throws `.badFrame`, `.unsupportedVersion` or `.unexpectedMessage` with the reason.
    public static func decode(_ frame: Frame) throws -> Envelope {
        let envelope: Envelope
        do {
            envelope = try Envelope(serializedBytes: frame)
        } catch {
            throw ProtocolError(.badFrame, "frame of \(frame.count) bytes is not an arbor.v1.Envelope", cause: error)
        }
        guard envelope.protocolVersion == protocolVersion else {
            throw ProtocolError(
                .unsupportedVersion,
                "protocol_version \(envelope.protocolVersion) is not supported (this build speaks \(protocolVersion))")
        }
        guard envelope.body != nil else {
            throw ProtocolError(.unexpectedMessage, "envelope carries no body (unknown message type?)")
        }
        return envelope
    }

    /// The `Error` body that answers a frame `decode` rejected.
    public static func errorBody(for error: ProtocolError) -> Body {
        let code: ErrorMessage.Code =
            switch error.code {
            case .badFrame, .frameTooLarge: .badFrame
            case .unsupportedVersion: .unsupportedVersion
            case .unexpectedMessage: .unexpectedMessage
            case .transport, .badKey: .internal
            }
        return Self.error(code, error.message)
    }

    /// The `Error` reply frame that answers a frame `decode` rejected.
    public static func errorReply(for error: ProtocolError) -> Frame {
        encode(errorBody(for: error))
    }

    /// An `Error` body with a code and message.
    public static func error(_ code: ErrorMessage.Code, _ message: String, requestID: String = "") -> Body {
        var reply = ErrorMessage()
        reply.code = code
        reply.message = message
        reply.requestID = requestID
        return .error(reply)
    }
}

extension Body {
    /// The message's name as in arbor.proto, for logs and counters.
    public var name: String {
        switch self {
        case .register: "register"
        case .registerAck: "register_ack"
        case .heartbeat: "heartbeat"
        case .rolloutRequest: "rollout_request"
        case .rolloutResult: "rollout_result"
        case .resultAck: "result_ack"
        case .cancel: "cancel"
        case .drain: "drain"
        case .deregister: "deregister"
        case .policyUpdate: "policy_update"
        case .policyLoaded: "policy_loaded"
        case .statusQuery: "status_query"
        case .statusReply: "status_reply"
        case .batchPull: "batch_pull"
        case .trainingBatch: "training_batch"
        case .batchAck: "batch_ack"
        case .policyPublished: "policy_published"
        case .error: "error"
        }
    }
}
