"""One-shot commands as a user runs them: each a new `newsbot` process, timed from start to exit.

    .venv/bin/python scripts/bench_commands.py [--runs 5] [--out data/bench/commands-bench.json]

On an index of the sample article (made first, in a temporary folder): `newsbot ask "who denied the
deployment?"`, `newsbot index stats` and `newsbot index list`, each --runs times in turn (median, min, max of the
wall-clock seconds), with the ONNX export already in the per-user cache, as after `make install`. Apart: the
export's first-run cost, `newsbot model prepare` into an empty MODEL_CACHE_DIR (what the first command of a
fresh install without it would pay once).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NEWSBOT = str(Path(sys.executable).parent / "newsbot")
COMMANDS = {
    "ask": ["ask", "who denied the deployment?"],
    "index_stats": ["index", "stats"],
    "index_list": ["index", "list"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="runs of each command (the median is reported)")
    parser.add_argument("--out", type=Path, default=Path("data/bench/commands-bench.json"))
    args = parser.parse_args()
    out = args.out.resolve()
    results: dict = {"cores": os.cpu_count(), "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}
    with tempfile.TemporaryDirectory() as scratch:
        env = dict(os.environ, BOT_STATE_PATH=str(Path(scratch) / "bot.sqlite"))
        index = ["--index-dir", str(Path(scratch) / "index")]
        newsbot(["index", "add", str(ROOT / "articles"), *index], env)
        newsbot(["model", "prepare"], env)  # the per-user cache, as the install leaves it
        for _ in range(args.runs):  # interleaved, so that a passing load spreads over every command alike
            for name, command in COMMANDS.items():
                results.setdefault(name, {"command": shlex.join(["newsbot", *command]), "seconds": []})
                results[name]["seconds"].append(newsbot([*command, *index], env))
        first_run = dict(env, MODEL_CACHE_DIR=str(Path(scratch) / "empty-model-cache"))
        results["model_export_first_run_seconds"] = round(newsbot(["model", "prepare"], first_run), 2)
    for name in COMMANDS:
        seconds = results[name].pop("seconds")
        figures = {"median": statistics.median(seconds), "min": min(seconds), "max": max(seconds)}
        results[name].update({f"{key}_seconds": round(value, 2) for key, value in figures.items()}, runs=len(seconds))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


def newsbot(arguments: list[str], env: dict) -> float:
    """Seconds from the process's start to its exit."""
    started = time.perf_counter()
    subprocess.run([NEWSBOT, *arguments], env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
