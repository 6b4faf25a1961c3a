"""What the layers contract (pyproject.toml, `lint-imports`) can't say, checked over the real import graph:

- each storage, model and network library is imported only in its place (faiss in the SQLite index backend,
  psycopg in the PostgreSQL modules, telegram in bot/, ...): imports inside functions and under TYPE_CHECKING
  count, as in the layers contract;
- no project module is imported behind the graph's back: no `importlib.import_module`, `__import__`,
  `module_from_spec` or `exec_module`, and `importlib.resources.files` / `find_spec` name only their own package.

`python scripts/check_layers.py [ROOT]` prints one line per breach and exits 1 (ROOT: a checkout, default this one;
it must be first on sys.path, as it is when run from there). scripts/ and tests/ are exempt.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import grimp

PACKAGES = ("newsbot", "bot", "evaluation", "wiring", "briefings", "feeds", "state", "answers", "index", "prompts", "common")
POSTGRES = ("index.postgres", "state.postgres", "common.postgres")  # the two backends and the connections they share
EMBEDDINGS = ("index.embeddings",)
# A library -> the modules (and their submodules) that may import it.
PLACES: dict[str, tuple[str, ...]] = {
    "faiss": ("index.sqlite",),
    "bm25s": ("index.sqlite", "index.terms"),
    "filelock": ("index.sqlite",),
    "sqlite3": ("index.sqlite", "state.sqlite"),
    "psycopg": POSTGRES,
    "psycopg_pool": POSTGRES,
    "pgvector": ("index.postgres",),
    "langchain": ("answers.llm", "evaluation.naive"),
    "langchain_core": ("answers.llm", "evaluation.naive"),
    "langchain_openai": ("answers.llm",),
    "langchain_community": ("evaluation.naive",),
    "langchain_huggingface": ("evaluation.naive",),
    "telegram": ("bot",),
    "starlette": ("bot",),
    "uvicorn": ("bot",),
    "aiolimiter": ("bot",),
    "torch": EMBEDDINGS,
    "sentence_transformers": EMBEDDINGS,
    "onnxruntime": EMBEDDINGS,
    "onnx": EMBEDDINGS,
    "optimum": EMBEDDINGS,
    "tokenizers": EMBEDDINGS,
    "safetensors": EMBEDDINGS,
    "trafilatura": ("index.html",),
    "httpx": ("index.fetch",),
    "feedparser": ("feeds",),
    "pydantic_settings": ("wiring.settings",),
}
DYNAMIC_IMPORTS = {"import_module", "__import__", "module_from_spec", "exec_module", "reload"}
NAMED_PACKAGE_CALLS = {"files", "find_spec"}  # importlib.resources.files(X), importlib.util.find_spec(X)


def misplaced_libraries(graph: grimp.ImportGraph) -> Iterator[str]:
    for library, places in sorted(PLACES.items()):
        if library not in graph.modules:
            continue
        for importer in sorted(graph.find_modules_that_directly_import(library)):
            if not _within(importer, places):
                yield f"{importer} imports {library}, which belongs in {' or '.join(places)} only"


def dynamic_imports(root: Path) -> Iterator[str]:
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            module = ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
            yield from _dynamic_imports_in(path, module)


def _dynamic_imports_in(path: Path, module: str) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        where = f"{path}:{node.lineno}"
        if name in DYNAMIC_IMPORTS:
            yield f"{where}: {module} calls {name}(): import project modules with import statements"
        elif name in NAMED_PACKAGE_CALLS and node.args and isinstance(node.args[0], ast.Constant):
            named = str(node.args[0].value).split(".")[0]
            if named in PACKAGES and named != module.split(".")[0]:
                yield f"{where}: {module} reaches into the package {named} with {name}(): import it instead"


def _within(module: str, places: tuple[str, ...]) -> bool:
    return any(module == place or module.startswith(place + ".") for place in places)


def problems(root: Path) -> list[str]:
    graph = grimp.build_graph(*PACKAGES, include_external_packages=True)
    return [*misplaced_libraries(graph), *dynamic_imports(root)]


def main() -> int:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent)
    sys.path.insert(0, str(root))
    found = problems(root)
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
