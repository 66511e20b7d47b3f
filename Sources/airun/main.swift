import AirunCLI

airunMain()
