"""Each command imports only what it uses: a one-shot command is mostly its imports (torch alone takes seconds)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from wiring.settings import Settings

REPO = Path(__file__).resolve().parent.parent
# Runs the command as the `newsbot` entry point does, then prints the top-level packages it imported.
RUN_AND_LIST = (
    "import json, sys\n"
    "from newsbot.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "print(json.dumps({'code': code, 'imported': sorted({name.split('.')[0] for name in sys.modules})}))\n"
)
UNUSED_BY_ASK = {"torch", "transformers", "sentence_transformers", "langchain", "langchain_core", "telegram"}
UNUSED_BY_STATS = UNUSED_BY_ASK | {"onnxruntime", "tokenizers", "faiss", "bm25s", "scipy", "wordfreq", "trafilatura"}


def imported_by(settings: Settings, *args: str) -> set[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO), BOT_STATE_PATH=str(settings.bot_state_path), ANSWERER="extractive")
    for name in ("EMBEDDING_BACKEND", "EMBEDDING_MODEL"):
        env.pop(name, None)
    run = subprocess.run(
        [sys.executable, "-c", RUN_AND_LIST, *args, "--index-dir", str(settings.index_dir)],
        capture_output=True,
        text=True,
        env=env,
        cwd=settings.index_dir.parent,
        timeout=120,
    )
    result = json.loads(run.stdout.splitlines()[-1])
    assert result["code"] == 0, run.stderr
    return set(result["imported"])


def test_ask_on_onnx_imports_neither_torch_nor_langchain_nor_telegram(sample_index):
    imported = imported_by(sample_index, "ask", "who denied the deployment?")
    assert "onnxruntime" in imported  # it did answer with the model
    assert not imported & UNUSED_BY_ASK


def test_index_stats_and_list_read_sqlite_alone(sample_index):
    for command in ("stats", "list"):
        imported = imported_by(sample_index, "index", command)
        assert "sqlite3" in imported
        assert not imported & UNUSED_BY_STATS, command
