"""`amparo worker`: run background tasks and enqueue periodic housekeeping.

Tasks are run by django-tasks' database worker (db_worker), which claims each task with
SELECT ... FOR UPDATE SKIP LOCKED on PostgreSQL, so several workers never run one task
twice. A scheduler thread enqueues the housekeeping commands once per period (see
amparo/ops/schedule.py); with several workers, the first to claim a period enqueues it.
Tasks left RUNNING by a worker that died are queued again at start-up and on every tick
(see amparo/ops/worker.py).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandParser
from django.db import DatabaseError, close_old_connections, connections
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from amparo.cli import TranslatedCommand
from amparo.ops.schedule import enqueue_due
from amparo.ops.worker import Registration, new_worker_id, reclaim_abandoned

logger = logging.getLogger("amparo.ops")


class Scheduler(threading.Thread):
    """Every ``tick`` seconds, enqueue the housekeeping whose period has come round."""

    def __init__(self, tick: float) -> None:
        super().__init__(name="amparo-scheduler", daemon=True)
        self.tick = tick
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            close_old_connections()
            try:
                _reclaim_and_log()
                enqueued = enqueue_due()
            except DatabaseError:
                # The database may be restarting; the next tick tries again.
                logger.warning("could not enqueue housekeeping; retrying", exc_info=True)
            else:
                for command in enqueued:
                    logger.info("enqueued housekeeping: %s", command)
            finally:
                connections.close_all()
            self.stopped.wait(self.tick)


def _reclaim_and_log() -> None:
    """Queue again the tasks of workers that died holding them, and say which."""
    for task_id in reclaim_abandoned():
        logger.info("queued again a task of a dead worker: %s", task_id)


class Command(TranslatedCommand):
    help = gettext_lazy(
        "Run background tasks and enqueue periodic housekeeping (run one or more of these)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--queue-name", default="default", help=_("queues to run, comma-separated, or *")
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=1.0,
            help=_("seconds to wait when the queue is empty"),
        )
        parser.add_argument("--batch", action="store_true", help=_("run what is queued, then exit"))
        parser.add_argument("--max-tasks", type=int, default=None, help=_("exit after this many"))
        parser.add_argument("--worker-id", default=None, help=_("unique name of this worker"))
        parser.add_argument(
            "--no-schedule",
            action="store_true",
            help=_("do not enqueue periodic housekeeping from this worker"),
        )
        parser.add_argument(
            "--schedule-tick",
            type=float,
            default=60.0,
            help=_("seconds between looks at the housekeeping schedule"),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        worker_id = options["worker_id"] or new_worker_id()
        registration = Registration(worker_id)
        try:
            _reclaim_and_log()
        except DatabaseError:
            logger.warning("could not look for tasks of dead workers", exc_info=True)
        try:
            # The tasks send messages to other people and keep their output: they run in the
            # site's language, never in the operator's.
            with translation.override(settings.LANGUAGE_CODE):
                self._run(worker_id, options)
        finally:
            registration.release()

    def _run(self, worker_id: str, options: dict[str, Any]) -> None:
        scheduler = None
        if not options["no_schedule"] and not options["batch"]:
            scheduler = Scheduler(options["schedule_tick"])
            scheduler.start()
        worker_options: dict[str, Any] = {
            "queue_name": options["queue_name"],
            "interval": options["interval"],
            "batch": options["batch"],
            "reload": False,
            "startup_delay": not options["batch"],
            "verbosity": options["verbosity"],
        }
        if options["max_tasks"] is not None:
            worker_options["max_tasks"] = options["max_tasks"]
        worker_options["worker_id"] = worker_id
        try:
            call_command("db_worker", **worker_options)
        finally:
            if scheduler is not None:
                scheduler.stopped.set()
