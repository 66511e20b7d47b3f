import sys
def load_model(path):
    with open(path, "rb") as f:
        return f.read(4)
def route(prompt):
    return load_model("/mnt/d/models/organized/Llama-3.3-70B-Instruct-abliterated-IQ2_S.gguf")
if __name__ == "__main__":
    route(sys.argv[1] if len(sys.argv) > 1 else "hello")
