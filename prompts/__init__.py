"""The LLM prompt templates, as text files (read with importlib.resources, so an installed wheel has them)."""

from importlib import resources
from importlib.resources.abc import Traversable


def folder() -> Traversable:
    """Where the bundled templates are (PROMPTS_DIR may name another folder)."""
    return resources.files(__name__)
