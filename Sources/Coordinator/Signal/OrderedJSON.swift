/// A JSON value whose object keys keep the order they were given in, for output files whose key
/// order is documented (Foundation's `JSONEncoder` orders keys by hash on Linux).
enum OrderedJSON {
    case object([(String, OrderedJSON)])
    case array([OrderedJSON])
    case string(String)
    case number(Double)
    case integer(Int)
    case unsigned(UInt64)
    case bool(Bool)
    case null

    /// Compact JSON text. Doubles use Swift's shortest round-trip form; non-finite ones become null.
    var text: String {
        var out: [UInt8] = []
        out.reserveCapacity(1024)
        write(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    // Written into bytes rather than a String: batch files hold tens of thousands of numbers, and
    // byte appends avoid String's per-append bookkeeping.
    private func write(to out: inout [UInt8]) {
        switch self {
        case .object(let pairs):
            out.append(UInt8(ascii: "{"))
            for (position, (key, value)) in pairs.enumerated() {
                if position > 0 { out.append(contentsOf: ", ".utf8) }
                Self.writeString(key, to: &out)
                out.append(contentsOf: ": ".utf8)
                value.write(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (position, item) in items.enumerated() {
                if position > 0 { out.append(contentsOf: ", ".utf8) }
                item.write(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .string(let value):
            Self.writeString(value, to: &out)
        case .number(let value):
            out.append(contentsOf: (value.isFinite ? value.description : "null").utf8)
        case .integer(let value):
            out.append(contentsOf: value.description.utf8)
        case .unsigned(let value):
            out.append(contentsOf: value.description.utf8)
        case .bool(let value):
            out.append(contentsOf: (value ? "true" : "false").utf8)
        case .null:
            out.append(contentsOf: "null".utf8)
        }
    }

    private static func writeString(_ value: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: "\\\"".utf8)
            case UInt8(ascii: "\\"): out.append(contentsOf: "\\\\".utf8)
            case UInt8(ascii: "\n"): out.append(contentsOf: "\\n".utf8)
            case UInt8(ascii: "\r"): out.append(contentsOf: "\\r".utf8)
            case UInt8(ascii: "\t"): out.append(contentsOf: "\\t".utf8)
            case 0..<0x20:
                let hex = String(byte, radix: 16)
                out.append(contentsOf: ("\\u" + String(repeating: "0", count: 4 - hex.count) + hex).utf8)
            default:
                // Multi-byte UTF-8 sequences pass through unchanged: JSON text is UTF-8.
                out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

extension OrderedJSON {
    static func numbers(_ values: [Double]) -> OrderedJSON { .array(values.map(OrderedJSON.number)) }
    static func integers(_ values: [Int]) -> OrderedJSON { .array(values.map(OrderedJSON.integer)) }
}
