import CZMQ
import Foundation

/// CURVE key pairs in Z85 text form (40 characters for 32 bytes), as `arbor keygen` prints them.
public struct CurveKeyPair: Sendable, Equatable, Codable {
    public var publicKey: String
    public var secretKey: String

    public init(publicKey: String, secretKey: String) {
        self.publicKey = publicKey
        self.secretKey = secretKey
    }
}

/// Z85 CURVE key helpers over libzmq.
public enum CurveKey {
    /// Generates a fresh key pair. Throws `.badKey` when libzmq was built without CURVE.
    public static func generate() throws -> CurveKeyPair {
        var publicKey = [CChar](repeating: 0, count: 41)
        var secretKey = [CChar](repeating: 0, count: 41)
        guard zmq_curve_keypair(&publicKey, &secretKey) == 0 else {
            throw ProtocolError(.badKey, "cannot generate a CURVE key pair: \(ZMQContext.lastError())")
        }
        return CurveKeyPair(publicKey: String(zeroTerminated: publicKey), secretKey: String(zeroTerminated: secretKey))
    }

    /// The public key belonging to a Z85 secret key.
    public static func publicKey(forSecret secret: String) throws -> String {
        _ = try decode(secret, what: "secret key")
        var publicKey = [CChar](repeating: 0, count: 41)
        guard zmq_curve_public(&publicKey, secret) == 0 else {
            throw ProtocolError(.badKey, "cannot derive a public key: \(ZMQContext.lastError())")
        }
        return String(zeroTerminated: publicKey)
    }

    /// Decodes a Z85 key to its 32 bytes; `what` names the key in the error.
    public static func decode(_ text: String, what: String) throws -> [UInt8] {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.utf8.count == 40 else {
            throw ProtocolError(.badKey, "\(what) must be 40 Z85 characters, got \(trimmed.utf8.count)")
        }
        var bytes = [UInt8](repeating: 0, count: 32)
        guard zmq_z85_decode(&bytes, trimmed) != nil else {
            throw ProtocolError(.badKey, "\(what) is not valid Z85 text")
        }
        return bytes
    }

    /// Encodes 32 key bytes as Z85 text.
    public static func encode(_ bytes: [UInt8]) -> String {
        var text = [CChar](repeating: 0, count: 41)
        _ = zmq_z85_encode(&text, bytes, bytes.count)
        return String(zeroTerminated: text)
    }
}
