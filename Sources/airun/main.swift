import AirunCLI

airunMain(Array(CommandLine.arguments.dropFirst()))
