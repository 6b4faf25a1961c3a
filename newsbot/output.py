"""How commands print: one JSON document, or lines of text."""

import json


def print_json(value: object) -> None:
    print(json.dumps(value, ensure_ascii=False, default=str))
