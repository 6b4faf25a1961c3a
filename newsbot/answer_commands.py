"""`newsbot ask`, `newsbot chat` and `newsbot run`."""

from __future__ import annotations

import argparse
import signal
import sys
from concurrent.futures import ThreadPoolExecutor

from newsbot.clock import clock_of, clock_options
from newsbot.console import render_answer
from newsbot.output import print_json
from newsbot.questions_input import STDIN_HELP, QuestionsInput
from wiring.parts import Wiring
from wiring.settings import Settings


def register(commands, common: argparse.ArgumentParser) -> None:
    clock = clock_options()
    ask = commands.add_parser(
        "ask", parents=[common, clock], help="answer one question (or one per line from stdin with -)"
    )
    ask.add_argument("question", help=f"the question, or - to read questions from stdin: {STDIN_HELP}")
    ask.set_defaults(handler=ask_command)
    chat = commands.add_parser("chat", parents=[common, clock], help="a conversation in the terminal, with follow-ups")
    chat.set_defaults(handler=chat_command)
    run = commands.add_parser("run", parents=[common], help="start the Telegram bot (or chat, without a token)")
    run.set_defaults(handler=run_command)


def ask_command(args: argparse.Namespace, settings: Settings) -> int:
    service = Wiring(settings, clock=clock_of(args, settings.zone)).answers
    questions = QuestionsInput(args.question, settings.zone, empty=True)
    for question, asking in questions.asked_of(service):
        answer = asking.answer(question)
        if args.json:
            print_json(answer.as_json())
            sys.stdout.flush()
        else:
            print(render_answer(answer) + "\n")
    return 1 if questions.failed else 0


def chat_command(args: argparse.Namespace, settings: Settings) -> int:
    from newsbot.terminal import chat

    return chat(lambda: Wiring(settings, clock=clock_of(args, settings.zone)).answers)


def run_command(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.telegram_bot_token:
        print(
            "No TELEGRAM_BOT_TOKEN set: starting the terminal chat. Put a token from @BotFather in .env to run the bot.\n"
        )
        return chat_command(args, settings)
    with Wiring(settings, creates_index=True) as wiring:
        wiring.settle_answerer()  # an LLM's missing or rejected key is refused before anything slow is loaded
        wiring.embedder.prepare(notice=True)  # a first run's one-off model export, and its notice
        with DeferredInterrupt() as interrupt:
            # The loading of the model and the index, while the bot's modules load
            preparing = ThreadPoolExecutor(1, thread_name_prefix="prepare").submit(wiring.answers.warm_up)
            from bot.app import run_bot

            run_bot(wiring, preparing, interrupt.requested)
    return 0


class DeferredInterrupt:
    """Ctrl-C (SIGINT) while the bot starts, until it takes over its signals: noted, and acted on between two
    steps of the start (the bot asks `requested`), never in the middle of one. Raised at once, KeyboardInterrupt
    could stop an import while another thread imports too, and the import locks it leaves held hang the process
    (seen: `newsbot run` stopped in its second second never ended)."""

    def __init__(self) -> None:
        self._requested = False

    def __enter__(self) -> DeferredInterrupt:
        self._previous = signal.signal(signal.SIGINT, self._note)
        return self

    def __exit__(self, *exc_info: object) -> None:
        signal.signal(signal.SIGINT, self._previous)

    def _note(self, signum: int, frame: object) -> None:
        self._requested = True

    def requested(self) -> bool:
        return self._requested
