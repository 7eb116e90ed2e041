"""`amparo export-bundle --report REF --out DIR`, `--deployment REF` or `--case N`: a verifiable
bundle."""

from __future__ import annotations

import uuid
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from amparo.audit.services import record as audit
from amparo.cli import TranslatedCommand
from amparo.evidence.bundle import BundleError
from amparo.evidence.store import StoreError
from amparo.field.export import ExportError, export_deployment, export_report
from amparo.field.models import Deployment, Report
from amparo.hotline.documents import DocumentRefused, export_case, surviving_case
from amparo.hotline.models import Case


def find_report(reference: str) -> Report:
    """A report by its number or by the id its phone gave it."""
    report: Report | None = None
    if reference.isdigit():
        report = Report.objects.filter(pk=int(reference)).first()
    else:
        try:
            report = Report.objects.filter(client_id=uuid.UUID(reference)).first()
        except ValueError:
            report = None
    if report is None:
        raise CommandError(
            _("no report %(reference)s: give its number or its id") % {"reference": repr(reference)}
        )
    return report


def find_case(reference: str) -> Case:
    """A case by its number; a merged case's number still finds it (its documents moved)."""
    case = Case.objects.filter(pk=int(reference)).first() if reference.isdigit() else None
    if case is None:
        raise CommandError(
            _("no case %(reference)s: give its number") % {"reference": repr(reference)}
        )
    return surviving_case(case)


class Command(TranslatedCommand):
    help = gettext_lazy(
        "Export a report, a whole event or a hotline case's documents as a signed bundle that "
        "amparo-verify checks."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--report", metavar="REF", help=_("report number or id"))
        which.add_argument("--deployment", metavar="REF", help=_("event (deployment) number"))
        which.add_argument("--case", metavar="N", help=_("hotline case number: its documents"))
        parser.add_argument("--out", required=True, metavar="DIR", help=_("bundle to create"))
        parser.add_argument("--zip", action="store_true", help=_("write a .zip instead"))

    def handle(self, *args: Any, **options: Any) -> None:
        out = Path(options["out"])
        try:
            if options["report"]:
                report = find_report(options["report"])
                path = export_report(report, out, zip=options["zip"])
                target = f"report:{report.pk}"
            elif options["case"]:
                case = find_case(options["case"])
                path = export_case(case, out, zip=options["zip"])
                target = f"case:{case.pk}"
            else:
                reference = options["deployment"]
                deployment = (
                    Deployment.objects.filter(pk=int(reference)).first()
                    if reference.isdigit()
                    else None
                )
                if deployment is None:
                    raise CommandError(
                        _("no event %(reference)s: give its number")
                        % {"reference": repr(reference)}
                    )
                path = export_deployment(deployment, out, zip=options["zip"])
                target = f"deployment:{deployment.pk}"
        except (ExportError, DocumentRefused, BundleError, StoreError) as error:
            raise CommandError(str(error)) from None
        action = "hotline.bundle.exported" if options["case"] else "field.bundle.exported"
        audit(None, action, target=target, detail=str(path.name))
        self.stdout.write(_("Wrote %(path)s") % {"path": path})
