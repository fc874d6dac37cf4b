"""Print the pre-deployment checklist; exit non-zero when an item fails."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from perfdash.loadtests.checklist import FAIL, run_checklist
from perfdash.loadtests.report import table


class Command(BaseCommand):
    help = (
        "Judge the pre-deployment checklist from stored load tests, perfdash "
        "measurements and the database; print PASS/FAIL/UNKNOWN with evidence."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        items = run_checklist()
        rows = [["item", "verdict", "evidence"]]
        rows += [[item.name, item.status, item.evidence] for item in items]
        self.stdout.write(table(rows))
        failed = [item.name for item in items if item.status == FAIL]
        if failed:
            raise CommandError("checklist failed: " + "; ".join(failed))
