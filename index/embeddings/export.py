"""The one-off ONNX export (and int8 quantisation) of a model folder, into a per-user cache.

`newsbot model prepare` runs it at install time; a process that finds it missing runs it then, saying so on
stderr. Each export is written to a temporary folder and renamed into place, so concurrent processes agree, and
is keyed by the model's files, the backend and the recipe, so that nothing else ever reuses it.

The int8 recipe does not depend on the host CPU: dynamic quantisation (activations uint8, onnxruntime's only
kind) of the MatMul weights to int8 per output channel with reduce_range (7 bits: -64..64), and of the embedding
tables. onnxruntime then computes the same integer products on every CPU: AVX2 without VNNI adds pairs of u8 x s8
products in saturating 16-bit lanes (VPMADDUBSW), which 255 x 64 x 2 = 32,640 cannot overflow, while VNNI, AMX and
ARM kernels accumulate exactly anyway. Full 8-bit signed weights would saturate on AVX2 alone (different vectors
than on a VNNI machine); uint8 weights avoid that too but run about 1.5x slower on VNNI CPUs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from common.errors import NewsbotError

# What the index records next to the model name: vectors made by another recipe must not be mixed in.
RECIPES = {"onnx": "onnx", "onnx-int8": "onnx-int8, dynamic u8/s8 reduce-range per-channel"}
FORMAT = 1  # bump when an export made by this code would differ from one made before


def cache_root(cache_dir: Path | None) -> Path:
    if cache_dir is not None:
        return cache_dir
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("newsbot")) / "models"


def export_path(model_path: Path, model_name: str, backend: str, cache_dir: Path | None) -> Path:
    """Where the ONNX file for this model folder, backend and recipe lives (whether or not it exists yet)."""
    key = hashlib.sha256(f"{FORMAT}\n{RECIPES[backend]}\n{_fingerprint(model_path)}".encode()).hexdigest()[:16]
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", model_name.strip("/")).strip("._")[-60:]
    return cache_root(cache_dir) / f"{slug}-{backend}-{key}" / "model.onnx"


def ensure_exported(model_path: Path, model_name: str, backend: str, cache_dir: Path | None, notice: bool) -> Path:
    """The ONNX file, exported first if missing (with a one-line notice on stderr when `notice`)."""
    target = export_path(model_path, model_name, backend, cache_dir)
    if target.is_file():
        return target
    if notice:
        print(
            f"newsbot: preparing the embedding model {model_name} ({RECIPES[backend]}) once, into {target.parent} "
            "(`newsbot model prepare` does this ahead of time)",
            file=sys.stderr,
        )
    started = time.perf_counter()
    manifest = {"model": model_name, "source": str(model_path), "recipe": RECIPES[backend], "format": FORMAT}
    if backend == "onnx":
        _publish(target, manifest, lambda staging: _export_float(model_path, staging))
    else:
        source = ensure_exported(model_path, model_name, "onnx", cache_dir, notice=False)
        _publish(target, manifest, lambda staging: _quantize(source, staging))
    logging.getLogger(__name__).info("exported %s in %.1f s", target, time.perf_counter() - started)
    return target


def _publish(target: Path, manifest: dict[str, object], make: Callable[[Path], None]) -> None:
    """Run `make(staging_folder)` and rename the folder into place; if another process got there first, keep
    theirs (same key, same recipe)."""
    target.parent.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.parent.name}-", dir=target.parent.parent))
    try:
        staging.chmod(0o755)  # mkdtemp's 0700 would hide a shared MODEL_CACHE_DIR from other users
        make(staging)
        (staging / "manifest.json").write_text(json.dumps(manifest | _tools(), indent=2) + "\n")
        try:
            staging.rename(target.parent)
        except OSError:
            if not target.is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _export_float(model_path: Path, staging: Path) -> None:
    """The transformer module exported by sentence-transformers' own ONNX backend (optimum, torch)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as error:
        raise NewsbotError(
            f"exporting the embedding model to ONNX needs torch and sentence-transformers, and {error.name} is not "
            "installed here (the Docker image leaves them out: its build exports the model); install them "
            "(`pip install torch==2.13.0 sentence-transformers optimum-onnx`), or set MODEL_CACHE_DIR to where "
            "the export is"
        ) from None
    with _quiet():
        try:
            SentenceTransformer(str(model_path), device="cpu", backend="onnx").save(str(staging / "saved"))
        except Exception as error:  # the exporter's own message, on one line
            message = " ".join(str(error).split())[:300]
            raise NewsbotError(
                f"cannot export {model_path} to ONNX ({message}); set EMBEDDING_BACKEND=torch"
            ) from error
    (staging / "saved" / "onnx" / "model.onnx").rename(staging / "model.onnx")
    shutil.rmtree(staging / "saved")


def _quantize(source: Path, staging: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with _quiet():
        quantize_dynamic(
            onnx.load(source),  # given a path, it would write its shape-inferred copy beside the shared source
            staging / "model.onnx",
            op_types_to_quantize=["MatMul", "Gather"],
            per_channel=True,
            reduce_range=True,
            weight_type=QuantType.QInt8,
            extra_options={"MatMulConstBOnly": True},
        )


def _fingerprint(model_path: Path) -> str:
    """What the model's files are, so that a changed model is a new key. A model a package installed (the
    default) is known by the hashes of its files in the package's RECORD: the same on every install of that
    release (another venv, a Docker image's stage), so an export made in one is found in the other. A folder of
    one's own by every file's name, size and modification time (hashing the weights would cost a tenth of a
    second at every start)."""
    recorded = _recorded_hashes(model_path)
    if recorded:
        return recorded
    files = sorted(p for p in model_path.rglob("*") if p.is_file())
    return "\n".join(f"{p.relative_to(model_path)} {p.stat().st_size} {p.stat().st_mtime_ns}" for p in files)


def _recorded_hashes(model_path: Path) -> str | None:
    """The RECORD hashes of the files under `model_path` when it is the folder of an installed package (as
    `resolve_model_path` finds a model package: PACKAGE/model beside PACKAGE-VERSION.dist-info), else None."""
    from importlib import metadata

    installed = sorted(model_path.parent.parent.glob(f"{model_path.parent.name}-*.dist-info"))
    if len(installed) != 1:
        return None
    distribution = metadata.PathDistribution(installed[0])
    folder = model_path.resolve()
    hashes = sorted(
        f"{file} {file.hash.value}"
        for file in distribution.files or []
        if file.hash is not None and Path(str(distribution.locate_file(file))).resolve().is_relative_to(folder)
    )
    return "\n".join(hashes) or None


def _tools() -> dict[str, dict[str, str | None]]:
    from importlib.metadata import PackageNotFoundError, version

    def installed(package: str) -> str | None:
        try:
            return version(package)
        except PackageNotFoundError:
            return None

    tools = ("onnxruntime", "onnx", "torch", "optimum-onnx", "sentence-transformers")
    return {"made_with": {package: installed(package) for package in tools}}


@contextmanager
def _quiet() -> Iterator[None]:
    """The export warns at length about tracing and quantisation pre-processing; none of it is actionable."""
    loggers = [logging.getLogger(name) for name in ("sentence_transformers", "transformers", "optimum", "root")]
    levels = [logger.level for logger in loggers]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for logger in loggers:
            logger.setLevel(logging.ERROR)
        try:
            yield
        finally:
            for logger, level in zip(loggers, levels, strict=True):
                logger.setLevel(level)
