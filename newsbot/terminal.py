"""`newsbot chat`: a conversation in the terminal. On a terminal, lines are read with GNU readline (editing, and
the session's earlier questions under the up arrow); Ctrl-C at any moment, or Ctrl-D at the prompt, ends the
chat with a goodbye.

Ctrl-C is SIGINT, which the kernel delivers to any thread that does not block it, and Python acts on it only in
the main thread: delivered to one of the model's threads, it would never wake the main thread from reading a
line, and the chat would not end. So the answering runs in a worker thread started while the main thread blocks
SIGINT (a thread starts with its creator's mask: the worker, and every thread the model and the index start from
it, block SIGINT; the threads libraries start when the command modules are imported do too, newsbot/cli.py), and
the main thread, which only reads lines and waits for answers, takes every Ctrl-C. CPython's readline looks for a
signal only when its wait for a key is interrupted, so a Ctrl-C that lands just before that wait starts (while the
prompt is drawn) would be acted on only at the next key: `_Interrupts` sends it to the main thread again until the
main thread has taken it."""

from __future__ import annotations

import functools
import os
import queue
import signal
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, TypeVar

from answers.types import Answer, Turn
from newsbot.console import render_answer

if TYPE_CHECKING:
    from answers.core import AnswerService

T = TypeVar("T")
HISTORY = 6  # earlier turns a follow-up is read with
GOODBYE = "Goodbye."
HELP = """Ask a question about the indexed articles; follow-ups ("and how many did he claim?") build on the
conversation. Commands:
  /help           this help
  /reset or /new  forget the conversation: the next question starts afresh
  /quit or /exit  leave (also Ctrl-D or Ctrl-C)"""


def chat(open_service: Callable[[], AnswerService]) -> int:
    """The conversation, until /quit, Ctrl-D or Ctrl-C (exit code 0)."""
    if sys.stdin.isatty():
        import readline  # noqa: F401  (importing it gives input() line editing and history)
    worker = _Worker()
    with _Interrupts():
        try:
            service = worker.run(open_service)
            print(
                f"Ask about the indexed articles ({service.answerer.name} answers). /help for help, Ctrl-D to leave.\n"
            )
            _converse(service, worker)
        except KeyboardInterrupt:
            print(f"\n{GOODBYE}")
    return 0


def _converse(service: AnswerService, worker: _Worker) -> None:
    history: list[Turn] = []
    asked = 0  # since the start or the last /reset
    while True:
        try:
            question = input("you> ").strip()
        except EOFError:
            print(f"\n{GOODBYE}")
            return
        command = question.split()[0].lower() if question.startswith("/") else None
        if command in ("/quit", "/exit"):
            print(GOODBYE)
            return
        if command == "/help":
            print(HELP + "\n")
        elif command in ("/reset", "/new"):
            print(f"Forgot the conversation ({_questions(asked)}): the next question starts afresh.\n")
            history, asked = [], 0
        elif command:
            print(f"Unknown command {command}; /help lists the commands.\n")
        elif question:
            answer = worker.run(functools.partial(_stream_to_terminal, service, question, history))
            history, asked = (history + [Turn(question, answer.text)])[-HISTORY:], asked + 1


def _questions(count: int) -> str:
    return "no earlier questions" if not count else f"{count} earlier question{'s' if count != 1 else ''}"


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


def _start_without_sigint(target: Callable[[], None], name: str) -> None:
    """A daemon thread started with SIGINT blocked (see the module's docstring): a daemon, so that a Ctrl-C ends
    the process without waiting for it."""
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        threading.Thread(target=target, name=name, daemon=True).start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


class _Interrupts:
    """While the chat runs, every Ctrl-C is acted on at once: each SIGINT's wakeup byte (signal.set_wakeup_fd)
    reaches a watcher thread, which sends SIGINT to the main thread again every RESEND seconds until the main
    thread has taken one (raised KeyboardInterrupt)."""

    RESEND = 0.2

    def __enter__(self) -> _Interrupts:
        self._taken = threading.Event()
        self._read, write = os.pipe()
        os.set_blocking(write, False)
        self._previous_fd = signal.set_wakeup_fd(write, warn_on_full_buffer=False)
        self._previous_handler = signal.signal(signal.SIGINT, self._take)
        _start_without_sigint(self._watch, "chat-interrupts")
        return self

    def __exit__(self, *exc_info: object) -> None:
        signal.signal(signal.SIGINT, self._previous_handler)
        os.close(signal.set_wakeup_fd(self._previous_fd))

    def _take(self, signum: int, frame: object) -> None:
        self._taken.set()
        raise KeyboardInterrupt

    def _watch(self) -> None:
        main = threading.main_thread().ident
        assert main is not None
        while signum := os.read(self._read, 1):  # one byte per signal: its number
            while signum[0] == signal.SIGINT and not self._taken.wait(self.RESEND):
                signal.pthread_kill(main, signal.SIGINT)
        os.close(self._read)


class _Worker:
    """One thread that runs what it is given, started without SIGINT (see the module's docstring)."""

    def __init__(self) -> None:
        self._work: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]]] = queue.SimpleQueue()
        _start_without_sigint(self._serve, "chat-answers")

    def run(self, work: Callable[[], T]) -> T:
        """`work()`, run in the worker; a Ctrl-C while waiting for it raises KeyboardInterrupt here at once."""
        done: Future[T] = Future()
        self._work.put((work, done))
        return done.result()

    def _serve(self) -> None:
        while True:
            work, done = self._work.get()
            try:
                done.set_result(work())
            except BaseException as error:  # handed to the main thread, which raises it
                done.set_exception(error)
