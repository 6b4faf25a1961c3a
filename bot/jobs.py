"""The JobQueue and the running job, which PTB types as optional: the JobQueue is missing only without PTB's
job-queue extra (a dependency of newsbot), the job only outside a job's callback."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, ContextTypes, Job, JobQueue


def job_queue(application: Application) -> JobQueue[Any]:
    queue = application.job_queue
    if queue is None:
        raise RuntimeError("PTB has no JobQueue: install python-telegram-bot[job-queue], as newsbot's dependencies say")
    return queue


def running_job(context: ContextTypes.DEFAULT_TYPE) -> Job[Any]:
    """The job whose callback `context` was made for."""
    if context.job is None:
        raise RuntimeError("a job's callback ran without its job")
    return context.job
