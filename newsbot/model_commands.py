"""`newsbot model prepare`: the embedding model's one-off ONNX export, ahead of the first question."""

from __future__ import annotations

import argparse

from newsbot.output import print_json
from wiring.parts import Wiring
from wiring.settings import Settings


def register(commands, common: argparse.ArgumentParser) -> None:
    model = commands.add_parser("model", help="the embedding model")
    sub = model.add_subparsers(title="model commands", required=True)
    prepare = sub.add_parser(
        "prepare", parents=[common], help="export the embedding model once (install time), print where it is and its id"
    )
    prepare.set_defaults(handler=prepare_command)


def prepare_command(args: argparse.Namespace, settings: Settings) -> int:
    embedder = Wiring(settings).embedder
    path = embedder.prepare()
    if args.json:
        print_json({"model_id": embedder.model_id, "path": str(path)})
    else:
        print(f"model id: {embedder.model_id}")
        print(f"runs from: {path}")
    return 0
