"""The LLM prompt templates, as text files (read with importlib.resources, so an installed wheel has them)."""
