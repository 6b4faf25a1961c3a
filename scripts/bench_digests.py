"""General news questions answered with a digest, on the RealTime QA index: their latency in the answering core.

    .venv/bin/python scripts/bench_digests.py [--index-dir data/bench/newsbot-index] [--eval-dir ../shared/eval]
        [--out data/bench/digests-bench.json]

Eight general news questions ("what's new?", "what happened this week?", "tell me about inflation", ...) asked
at every eighth RealTime QA question's date (the clock set, as `--now` sets it), after a warm-up: the p50 and p95
of the answers' latency (retrieval, story grouping and the cited digest), and how many found no story.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
from pathlib import Path

from common.clock import end_of
from evaluation import realtimeqa
from wiring.parts import Wiring
from wiring.settings import Settings

QUESTIONS = [
    "what's new?",
    "what happened this week?",
    "what happened yesterday?",
    "any news since monday?",
    "tell me about inflation",
    "summarize the ukraine news",
    "latest on the heat wave",
    "what's new about netflix?",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index-dir", type=Path, default=Path("data/bench/newsbot-index"))
    parser.add_argument("--eval-dir", type=Path, default=Path("../shared/eval"))
    parser.add_argument("--out", type=Path, default=Path("data/bench/digests-bench.json"))
    args = parser.parse_args()
    settings = Settings(index_dir=args.index_dir, eval_dir=args.eval_dir)
    load = [round(x, 2) for x in os.getloadavg()]
    service = Wiring(settings).answers
    service.warm_up()
    latencies, nothing = [], 0
    for question in realtimeqa.questions(settings.eval_dir)[::8]:
        asking = service.at(end_of(realtimeqa.asked_on(question), settings.zone))
        for text in QUESTIONS:
            answer = asking.answer(text)
            latencies.append(answer.latency_ms)
            nothing += answer.abstained
    latencies.sort()
    result = {
        "load_average_at_start": load,
        "digests": len(latencies),
        "nothing_in_period": nothing,
        "latency_ms_p50": round(statistics.median(latencies), 1),
        "latency_ms_p95": round(latencies[int(0.95 * (len(latencies) - 1))], 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
