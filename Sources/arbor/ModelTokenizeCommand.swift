import ArgumentParser
import Foundation
import Worker

/// `arbor model tokenize`: prints the token ids of a text as a JSON array.
struct ModelTokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Print the token ids of TEXT as a JSON array.",
        discussion: """
            Uses the model's own tokenizer (byte-level BPE from the GGUF metadata), exactly as the
            engine does; no BOS token is added. With --special, control tokens written in the text
            (such as <|im_start|>) become single ids; without it they are tokenized as plain text.
            Example: `arbor model tokenize --special "<|im_start|>user"` prints `[1, 4093]`.
            """
    )

    @OptionGroup var modelPath: ModelPathOptions

    @Flag(name: .long, help: "Recognise control tokens such as <|im_end|> written in the text.")
    var special = false

    @Argument(help: ArgumentHelp("The text to tokenize; `-` reads it from standard input.", valueName: "text"))
    var text: String

    func run() throws {
        let tokenizer = try Tokenizer(gguf: GGUFFile(path: modelPath.model))
        let input = text == "-" ? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self) : text
        let ids = tokenizer.encode(input, parseSpecial: special)
        print("[" + ids.map(String.init).joined(separator: ", ") + "]")
    }
}
