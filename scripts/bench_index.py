"""Index the RealTime QA corpus with newsbot and with the naive LangChain pipeline, in one run.

    .venv/bin/python scripts/bench_index.py [--limit N] [--out data/bench] [--only newsbot|naive]

Each pipeline runs in a fresh child process (peak memory is that process's maximum RSS, model included).
Both indexes are kept under --out for `newsbot eval`, and the figures are written to --out/index-bench.json.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_support import run_script  # noqa: E402  (scripts/, beside this file)

from evaluation import realtimeqa  # noqa: E402
from wiring.settings import Settings  # noqa: E402

PIPELINES = ("newsbot", "naive")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=None, help="index only the first N articles")
    parser.add_argument("--out", type=Path, default=Path("data/bench"))
    parser.add_argument("--only", choices=PIPELINES)
    parser.add_argument("--child", choices=PIPELINES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_child(args.child, args.out, args.limit)))
        return
    realtimeqa.dataset_dir(Settings().eval_dir, questions=False)  # one line saying where it is expected, first
    args.out.mkdir(parents=True, exist_ok=True)
    results = {name: run_in_child(name, args) for name in ([args.only] if args.only else PIPELINES)}
    if "naive" in results and "newsbot" in results:
        results["speedup_chars_per_second"] = round(
            results["newsbot"]["chars_per_second"] / results["naive"]["chars_per_second"], 2
        )
    (args.out / "index-bench.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


def run_in_child(name: str, args: argparse.Namespace) -> dict:
    command = [sys.executable, __file__, "--child", name, "--out", str(args.out)]
    if args.limit:
        command += ["--limit", str(args.limit)]
    print(f"indexing with {name} ...", file=sys.stderr, flush=True)
    finished = subprocess.run(command, stdout=subprocess.PIPE, text=True)
    if finished.returncode:  # the child has said why, on the stderr it shares
        sys.exit(finished.returncode)
    return json.loads(finished.stdout.strip().splitlines()[-1])


def run_child(name: str, out: Path, limit: int | None) -> dict:
    articles = realtimeqa.corpus(Settings().eval_dir)[:limit]
    chars = sum(len(article["text"]) for article in articles)
    target = out / f"{name}-index"
    shutil.rmtree(target, ignore_errors=True)
    started = time.perf_counter()
    passages, load_seconds = (index_with_newsbot if name == "newsbot" else index_naively)(articles, target)
    seconds = time.perf_counter() - started - load_seconds
    return {
        "articles": len(articles),
        "characters": chars,
        "passages": passages,
        "seconds": round(seconds, 1),
        "model_load_seconds": round(load_seconds, 1),
        "passages_per_second": round(passages / seconds, 1),
        "chars_per_second": round(chars / seconds),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "index_bytes": sum(f.stat().st_size for f in target.rglob("*") if f.is_file()),
    }


def index_with_newsbot(articles: list[dict], target: Path) -> tuple[int, float]:
    from wiring.parts import Wiring

    wiring = Wiring(Settings(index_dir=target), creates_index=True)
    started = time.perf_counter()
    wiring.embedder.embed(["warm up"])
    load_seconds = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as scratch:
        corpus = Path(scratch) / "realtimeqa.jsonl"
        corpus.write_text("".join(json.dumps(article) + "\n" for article in articles))
        report = wiring.indexer.add(wiring.read_sources([str(corpus)]))
    assert not report.failed, report.failed[:3]
    return wiring.store.stats()["passages"], load_seconds


def index_naively(articles: list[dict], target: Path) -> tuple[int, float]:
    """The pipeline most LangChain tutorials show, with the same model."""
    from evaluation.naive import bench_extra
    from index.embeddings import resolve_model_path

    with bench_extra():
        from langchain_community.vectorstores import FAISS
        from langchain_core.documents import Document
        from langchain_huggingface import HuggingFaceEmbeddings
        from langchain_text_splitters import RecursiveCharacterTextSplitter

    started = time.perf_counter()
    embeddings = HuggingFaceEmbeddings(model_name=str(resolve_model_path(Settings().embedding_model)))
    embeddings.embed_query("warm up")
    load_seconds = time.perf_counter() - started
    documents = [
        Document(page_content=a["text"], metadata={"url": a["url"], "title": a["title"], "published": a["published"]})
        for a in articles
    ]
    chunks = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(documents)
    FAISS.from_documents(chunks, embeddings).save_local(str(target))
    return len(chunks), load_seconds


if __name__ == "__main__":
    run_script(main)
