"""`newsbot ask`, `newsbot chat` and `newsbot run`."""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from answers.types import Answer, Turn
from newsbot.clock import clock_of, clock_options
from newsbot.console import render_answer
from newsbot.output import print_json
from newsbot.questions_input import STDIN_HELP, QuestionsInput
from wiring.parts import Wiring
from wiring.settings import Settings

if TYPE_CHECKING:
    from answers.core import AnswerService

CHAT_HISTORY = 6


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
    questions = QuestionsInput(args.question, settings.zone)
    for question, asking in questions.asked_of(service):
        answer = asking.answer(question)
        if args.json:
            print_json(answer.as_json())
            sys.stdout.flush()
        else:
            print(render_answer(answer) + "\n")
    return 1 if questions.failed else 0


CHAT_HELP = """Ask a question about the indexed articles; follow-ups ("and how many did he claim?") build on the
conversation. Commands:
  /help           this help
  /reset or /new  forget the conversation: the next question starts afresh
  /quit or /exit  leave (also Ctrl-D)"""


def chat_command(args: argparse.Namespace, settings: Settings) -> int:
    service = Wiring(settings, clock=clock_of(args, settings.zone)).answers
    print(
        f"Ask about the indexed articles ({service.answerer.name} answers). /help for help, Ctrl-D or /quit to leave.\n"
    )
    history: list[Turn] = []
    while True:
        try:
            question = input("you> ").strip()
        except EOFError:
            print()
            return 0
        command = question.split()[0].lower() if question.startswith("/") else None
        if command in ("/quit", "/exit"):
            return 0
        if command == "/help":
            print(CHAT_HELP + "\n")
        elif command in ("/reset", "/new"):
            print(f"Forgot the conversation ({len(history)} earlier questions): the next question starts afresh.\n")
            history = []
        elif command:
            print(f"Unknown command {command}; /help lists the commands.\n")
        elif question:
            answer = _stream_to_terminal(service, question, history)
            history = (history + [Turn(question, answer.text)])[-CHAT_HISTORY:]


def _stream_to_terminal(service: AnswerService, question: str, history: list[Turn]) -> Answer:
    streamed = False
    for event in service.stream(question, history):
        if isinstance(event, str):
            print(event, end="", flush=True)
            streamed = True
            continue
        if streamed:
            print("\n")
        print(f"bot> {render_answer(event)}\n")
        return event
    raise AssertionError("the answer stream ended without an answer")


def run_command(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.telegram_bot_token:
        print(
            "No TELEGRAM_BOT_TOKEN set: starting the terminal chat. Put a token from @BotFather in .env to run the bot.\n"
        )
        return chat_command(args, settings)
    with Wiring(settings, creates_index=True) as wiring:
        wiring.settle_answerer()  # an LLM's missing or rejected key is refused before anything slow is loaded
        wiring.embedder.prepare(notice=True)  # a first run's one-off model export, and its notice
        # The loading of the model and the index, while the bot's modules load
        preparing = ThreadPoolExecutor(1, thread_name_prefix="prepare").submit(wiring.answers.warm_up)
        from bot.app import run_bot

        run_bot(wiring, preparing)
    return 0
