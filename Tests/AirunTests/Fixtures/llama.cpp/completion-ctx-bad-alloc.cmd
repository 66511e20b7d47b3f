llama-completion -m tiny.gguf -c 999999999 -p hi -n 4 -no-cnv   (under ulimit -v 3000000)
