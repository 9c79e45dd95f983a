import ArgumentParser
import Foundation
import Worker

/// `arbor model detokenize`: prints the text that a list of token ids stands for.
struct ModelDetokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detokenize",
        abstract: "Print the text that token ids stand for.",
        discussion: """
            Control tokens print as their text (<|im_end|>) unless --no-special is given; bytes
            that do not form valid UTF-8 print as U+FFFD. With --json the text is printed as one
            JSON string.
            Example: `arbor model detokenize --ids 1,4093,198,26843,2` prints the user turn "Hi".
            """
    )

    @OptionGroup var modelPath: ModelPathOptions

    @Option(name: .long, help: ArgumentHelp("Comma-separated token ids.", valueName: "ids"))
    var ids: String

    @Flag(inversion: .prefixedNo, help: "Print control tokens such as <|im_end|> as their text.")
    var special = true

    @Flag(name: .long, help: "Print the text as a JSON string.")
    var json = false

    func validate() throws {
        _ = try parsedIDs()
    }

    func run() throws {
        let tokenizer = try Tokenizer(gguf: GGUFFile(path: modelPath.model))
        let text = try tokenizer.decode(parsedIDs(), special: special)
        print(json ? ModelDetokenize.jsonString(text) : text)
    }

    private func parsedIDs() throws -> [Int32] {
        let fields = ids.split(separator: ",", omittingEmptySubsequences: false)
        return try fields.map { field in
            guard let id = Int32(field.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("--ids must be integers separated by commas, e.g. --ids 1,4093,198; got \"\(field)\"")
            }
            return id
        }
    }

    /// `text` as a JSON string literal.
    static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
                    + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
