/// A JSON value whose object keys keep the order they were given in, for output files whose key
/// order is documented (Foundation's `JSONEncoder` orders keys by hash on Linux).
enum OrderedJSON {
    case object([(String, OrderedJSON)])
    case array([OrderedJSON])
    case string(String)
    case number(Double)
    case integer(Int)
    case unsigned(UInt64)
    case null

    /// Compact JSON text. Doubles use Swift's shortest round-trip form; non-finite ones become null.
    var text: String {
        var out = ""
        write(to: &out)
        return out
    }

    private func write(to out: inout String) {
        switch self {
        case .object(let pairs):
            out += "{"
            for (position, (key, value)) in pairs.enumerated() {
                if position > 0 { out += ", " }
                Self.writeString(key, to: &out)
                out += ": "
                value.write(to: &out)
            }
            out += "}"
        case .array(let items):
            out += "["
            for (position, item) in items.enumerated() {
                if position > 0 { out += ", " }
                item.write(to: &out)
            }
            out += "]"
        case .string(let value):
            Self.writeString(value, to: &out)
        case .number(let value):
            out += value.isFinite ? "\(value)" : "null"
        case .integer(let value):
            out += String(value)
        case .unsigned(let value):
            out += String(value)
        case .null:
            out += "null"
        }
    }

    private static func writeString(_ value: String, to out: inout String) {
        out += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}

extension OrderedJSON {
    static func numbers(_ values: [Double]) -> OrderedJSON { .array(values.map(OrderedJSON.number)) }
    static func integers(_ values: [Int]) -> OrderedJSON { .array(values.map(OrderedJSON.integer)) }
}
