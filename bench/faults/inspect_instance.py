"""Run inside a fault-test instance's environment: set it up, or check what survived a kill.

    python -m bench.faults.inspect_instance setup
    python -m bench.faults.inspect_instance check < acknowledged.json

`check` reads what the clients were told was stored and prints, as JSON, what was found, what
was lost, anything partial, files left in the store's tmp/ and the state of the custody log
against its last signed checkpoint; then it signs a checkpoint for the next round. Given
"tasks", it first waits for the background tasks enqueued so far to end, reports their
states, and then enqueues the next round's housekeeping tasks, spread over a few seconds.
"""

from __future__ import annotations

import json
import random
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import django


def setup() -> dict[str, str]:
    from amparo.accounts.models import User
    from amparo.field.models import Report
    from amparo.field.sync import issue_device_token

    observer = User.objects.create_user(
        username="harness-observer",
        password="a long harness password 1",  # noqa: S106 -- a throwaway instance
        role="observer",
    )
    report = Report.objects.create(filed_by=observer, in_charge_role="supervisor")
    report.authors.add(observer)
    return {
        "token": issue_device_token(observer, "fault harness"),
        "report_id": str(report.client_id),
    }


def check(acknowledged: dict[str, Any]) -> dict[str, Any]:
    from django.conf import settings

    from amparo.evidence.checkpoint import open_checkpoint
    from amparo.evidence.store import EvidenceStore
    from amparo.field.models import Attachment

    directory = Path(settings.EVIDENCE_DIR)
    # Listed before this process opens the store, since opening it sweeps.
    tmp = directory / "blobs" / "tmp"
    left_in_tmp = sorted(path.name for path in tmp.iterdir()) if tmp.exists() else []
    report: dict[str, Any] = {"tmp_files": left_in_tmp}

    if "tasks" in acknowledged:
        report["tasks"] = _check_tasks(acknowledged["tasks"])
    uploads = acknowledged.get("uploads", [])
    intakes = acknowledged.get("intakes", [])
    report.update(_check_intakes(intakes))
    report["uploads_acknowledged"] = len(uploads)
    if not (directory / "store.json").exists():
        # Nothing was ever ingested, so nothing acknowledged can be in the store.
        report.update(uploads_lost=uploads, partial=[], log="no store yet")
        return report
    with EvidenceStore.open(directory) as store:
        lost_uploads = []
        for ack in uploads:
            attachment = Attachment.objects.filter(item_id=ack["item_id"]).first()
            try:
                item = store.item(ack["item_id"])
                store.blobs.fixity(ack["item_id"])
                intact = item.sha256 == ack["sha256"] and item.size == ack["size"]
            except Exception as error:  # anything at all means the upload is not there whole
                intact = False
                ack = {**ack, "error": str(error)}
            if attachment is None or attachment.sha256 != ack["sha256"] or not intact:
                lost_uploads.append(ack)
        catalogue = {item.id for item in store.items()}
        attachments = set(Attachment.objects.values_list("item_id", flat=True))
        report["partial"] = store.fixity() + [
            f"attachment names item {item_id}, which the store does not hold"
            for item_id in sorted(attachments - catalogue)
        ]
        report["unattached_items"] = len(catalogue - attachments)
        report["orphan_blobs"] = len(set(store.blobs.ids()) - catalogue)
        signed = store.signer.last_signed()
        if signed is None:
            report["log"] = "no checkpoint signed yet"
        else:
            checkpoint = open_checkpoint(signed, store.log_vkey)
            consistent = checkpoint.size <= store.log.size and (
                store.log.root(checkpoint.size) == checkpoint.root_hash
            )
            report["log"] = (
                f"consistent: checkpoint of {checkpoint.size} entries, log holds {store.log.size}"
                if consistent
                else f"INCONSISTENT with checkpoint of {checkpoint.size} entries"
            )
        store.checkpoint()
        report["log_size"] = store.log.size
    report["uploads_lost"] = lost_uploads
    return report


def _check_tasks(wanted: dict[str, Any]) -> dict[str, Any]:
    """Wait (a while) for every task to end, count their states, then enqueue more."""
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from amparo.ops.schedule import available_housekeeping
    from amparo.ops.tasks import run_housekeeping

    unfinished = DBTaskResult.objects.filter(status__in=["READY", "RUNNING"])
    deadline = time.monotonic() + float(wanted.get("wait_seconds", 60))
    while unfinished.exists() and time.monotonic() < deadline:
        time.sleep(0.25)
    statuses: dict[str, int] = {}
    for status in DBTaskResult.objects.values_list("status", flat=True):
        statuses[status] = statuses.get(status, 0) + 1
    several = DBTaskResult.objects.values_list("id", "worker_ids")
    report: dict[str, Any] = {
        "statuses": statuses,
        "unfinished": [
            f"{task_id} {status} {worker_ids}"
            for task_id, status, worker_ids in unfinished.values_list("id", "status", "worker_ids")
        ],
        "failed": [
            f"{args['args']} {path}"
            for args, path in DBTaskResult.objects.filter(status="FAILED").values_list(
                "args_kwargs", "exception_class_path"
            )
        ],
        "claimed_more_than_once": sorted(
            str(task_id) for task_id, worker_ids in several if len(worker_ids) > 1
        ),
    }
    rng = random.Random(wanted.get("seed", 0))
    commands = [entry.command for entry in available_housekeeping()]
    spread = float(wanted.get("spread_seconds", 0))
    enqueued = []
    for _ in range(int(wanted.get("enqueue", 0))):
        later = timezone.now() + timedelta(seconds=rng.uniform(0, spread))
        result = run_housekeeping.using(run_after=later).enqueue(rng.choice(commands))
        enqueued.append(str(result.id))
    report["enqueued"] = enqueued
    return report


def _check_intakes(intakes: list[str]) -> dict[str, Any]:
    from amparo.hotline.models import Intake

    stored = Intake.objects.filter(caller_name__in=intakes)
    found = set(stored.values_list("caller_name", flat=True))
    return {"intakes_acknowledged": len(intakes), "intakes_lost": sorted(set(intakes) - found)}


def main() -> None:
    django.setup()
    if sys.argv[1] == "setup":
        print(json.dumps(setup()))
    elif sys.argv[1] == "check":
        print(json.dumps(check(json.load(sys.stdin))))
    else:
        raise SystemExit(f"unknown command {sys.argv[1]!r}")


if __name__ == "__main__":
    main()
