import ArborProtocol
import Testing

@testable import Worker

/// Argument validation against a tool's JSON schema.
struct SchemaValidatorTests {
    static let schema: JSONValue = [
        "type": "object",
        "properties": [
            "query": ["type": "string", "minLength": 1],
            "top_k": ["type": "integer", "minimum": 1, "maximum": 20],
            "mode": ["enum": ["fast", "exact"]],
            "tags": ["type": "array", "items": ["type": "string"]],
        ],
        "required": ["query"],
        "additionalProperties": false,
    ]

    @Test("valid arguments pass")
    func valid() {
        #expect(SchemaValidator.violations(of: ["query": "x"], against: Self.schema).isEmpty)
        #expect(SchemaValidator.violations(of: ["query": "x", "top_k": 3.0, "mode": "fast", "tags": ["a"]],
            against: Self.schema).isEmpty)
    }

    @Test("each violation is named with its path", arguments: Self.invalidCases)
    func invalid(_ arguments: JSONValue, _ message: String) {
        let found = SchemaValidator.violations(of: arguments, against: Self.schema)
        #expect(found.contains { $0.hasPrefix(message) }, "\(found)")
    }

    static let invalidCases: [(JSONValue, String)] = [
        (JSONValue.object([:]), "arguments.query is required"),
        (["query": 5], "arguments.query must be of type string, not integer"),
        (["query": ""], "arguments.query must have at least 1 characters"),
        (["query": "x", "top_k": 1.5], "arguments.top_k must be of type integer, not number"),
        (["query": "x", "top_k": 50], "arguments.top_k must be ≤ 20.0"),
        (["query": "x", "mode": "slow"], #"arguments.mode must be one of ["fast","exact"]"#),
        (["query": "x", "tags": ["a", 1]], "arguments.tags[1] must be of type string, not integer"),
        (["query": "x", "extra": true], "arguments.extra is not a known argument"),
        (["query": "x", "top_k": true], "arguments.top_k must be of type integer, not boolean"),
    ]

    @Test("type lists and nested additionalProperties schemas")
    func typeLists() {
        let schema: JSONValue = ["type": "object", "additionalProperties": ["type": ["integer", "null"]]]
        #expect(SchemaValidator.violations(of: ["a": 1, "b": nil], against: schema).isEmpty)
        #expect(SchemaValidator.violations(of: ["a": "x"], against: schema) == ["arguments.a must be of type integer or null, not string"])
    }
}
