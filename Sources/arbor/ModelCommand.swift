import ArgumentParser

/// `arbor model`: inspection commands for the built-in engine's model files.
struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Inspect a GGUF model with the built-in engine: tokenize, detokenize, logits, render conversations.",
        discussion: """
            For debugging a model and for scripted checks; every command prints JSON or plain text.
            Example: `arbor model tokenize --model models/SmolLM2-135M-Instruct.Q4_1.gguf "Hello world"`
            """,
        subcommands: [ModelTokenize.self, ModelDetokenize.self, ModelLogits.self, ModelRender.self]
    )
}

/// The `--model` option shared by the `arbor model` subcommands.
struct ModelPathOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Path of the GGUF model file.", valueName: "path"))
    var model: String = "models/SmolLM2-135M-Instruct.Q4_1.gguf"
}
