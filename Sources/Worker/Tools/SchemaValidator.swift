import ArborProtocol

/// Checks tool arguments against a tool's JSON schema before anything runs.
///
/// Covers the subset of JSON Schema that function-calling schemas use: `type` (one or a list;
/// `integer` accepts whole-valued numbers), `enum`, `const`, `properties`, `required`,
/// `additionalProperties` (boolean or schema), `items`, `minItems`/`maxItems`,
/// `minLength`/`maxLength`, `minimum`/`maximum`, `exclusiveMinimum`/`exclusiveMaximum`, `anyOf`
/// and `oneOf` (both read as "at least one matches"). Unknown keywords are ignored, as the spec
/// asks. Thread-safe: a pure function of its inputs.
public enum SchemaValidator {
    /// Every violation of `schema` by `value`, each naming its path (`arguments.code`); empty
    /// when valid. `path` is the name of the root in messages.
    public static func violations(of value: JSONValue, against schema: JSONValue, path: String = "arguments")
        -> [String]
    {
        var found: [String] = []
        check(value, schema, path, &found)
        return found
    }

    private static func check(_ value: JSONValue, _ schema: JSONValue, _ path: String, _ found: inout [String]) {
        guard case .object(let rules) = schema else {
            if case .bool(false) = schema { found.append("\(path) is not allowed") }
            return
        }
        if let type = rules["type"], !matches(value, type: type) {
            found.append("\(path) must be \(typeList(type)), not \(value.typeName)")
            return
        }
        if case .array(let options)? = rules["enum"], !options.contains(where: { same($0, value) }) {
            found.append("\(path) must be one of \(JSONValue.array(options).compactText)")
        }
        if let constant = rules["const"], !same(constant, value) {
            found.append("\(path) must be \(constant.compactText)")
        }
        for keyword in ["anyOf", "oneOf"] {
            if case .array(let options)? = rules[keyword],
                !options.contains(where: { violations(of: value, against: $0, path: path).isEmpty })
            {
                found.append("\(path) matches none of the allowed forms (\(keyword))")
            }
        }
        switch value {
        case .object(let members): checkObject(members, rules, path, &found)
        case .array(let elements): checkArray(elements, rules, path, &found)
        case .string(let text): checkLength(text.count, rules, path, "characters", "Length", &found)
        case .int, .double: checkRange(value.numberValue ?? 0, rules, path, &found)
        default: break
        }
    }

    private static func checkObject(
        _ members: [String: JSONValue], _ rules: [String: JSONValue], _ path: String, _ found: inout [String]
    ) {
        let properties = rules["properties"]?.objectValue ?? [:]
        if case .array(let required)? = rules["required"] {
            for case .string(let key) in required where members[key] == nil {
                found.append("\(path).\(key) is required")
            }
        }
        for key in members.keys.sorted() {
            let member = members[key] ?? .null
            if let propertySchema = properties[key] {
                check(member, propertySchema, "\(path).\(key)", &found)
            } else if let extra = rules["additionalProperties"] {
                if case .bool(false) = extra {
                    let known = properties.keys.sorted().joined(separator: ", ")
                    found.append("\(path).\(key) is not a known argument (known: \(known))")
                } else {
                    check(member, extra, "\(path).\(key)", &found)
                }
            }
        }
    }

    private static func checkArray(
        _ elements: [JSONValue], _ rules: [String: JSONValue], _ path: String, _ found: inout [String]
    ) {
        checkLength(elements.count, rules, path, "items", "Items", &found)
        if let itemSchema = rules["items"] {
            for (index, element) in elements.enumerated() {
                check(element, itemSchema, "\(path)[\(index)]", &found)
            }
        }
    }

    private static func checkLength(
        _ count: Int, _ rules: [String: JSONValue], _ path: String, _ unit: String, _ suffix: String,
        _ found: inout [String]
    ) {
        if let minimum = rules["min\(suffix)"]?.intValue, count < minimum {
            found.append("\(path) must have at least \(minimum) \(unit), has \(count)")
        }
        if let maximum = rules["max\(suffix)"]?.intValue, count > maximum {
            found.append("\(path) must have at most \(maximum) \(unit), has \(count)")
        }
    }

    private static func checkRange(_ number: Double, _ rules: [String: JSONValue], _ path: String,
        _ found: inout [String])
    {
        if let bound = rules["minimum"]?.numberValue, number < bound {
            found.append("\(path) must be ≥ \(bound)")
        }
        if let bound = rules["maximum"]?.numberValue, number > bound {
            found.append("\(path) must be ≤ \(bound)")
        }
        if let bound = rules["exclusiveMinimum"]?.numberValue, number <= bound {
            found.append("\(path) must be > \(bound)")
        }
        if let bound = rules["exclusiveMaximum"]?.numberValue, number >= bound {
            found.append("\(path) must be < \(bound)")
        }
    }

    private static func matches(_ value: JSONValue, type: JSONValue) -> Bool {
        switch type {
        case .string(let name): return matches(value, typeName: name)
        case .array(let names): return names.contains { $0.stringValue.map { matches(value, typeName: $0) } ?? false }
        default: return true
        }
    }

    private static func matches(_ value: JSONValue, typeName: String) -> Bool {
        switch (typeName, value) {
        case ("integer", .int): true
        case ("integer", .double(let number)): number.isFinite && number.rounded() == number
        case ("number", .int), ("number", .double): true
        default: typeName == value.typeName
        }
    }

    /// JSON equality with 1 == 1.0.
    private static func same(_ lhs: JSONValue, _ rhs: JSONValue) -> Bool {
        if let left = lhs.numberValue, let right = rhs.numberValue { return left == right }
        return lhs == rhs
    }

    private static func typeList(_ type: JSONValue) -> String {
        switch type {
        case .string(let name): return "of type \(name)"
        case .array(let names): return "of type " + names.compactMap(\.stringValue).joined(separator: " or ")
        default: return "of the declared type"
        }
    }
}
