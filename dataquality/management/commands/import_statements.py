from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from dataquality.importer import import_file
from dataquality.models import Scan
from dataquality.tasks import start_scan


class Command(BaseCommand):
    help = (
        "Import financial statements from CSV or Excel files (all or nothing per file), "
        "then check the imported statements."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", type=Path)
        parser.add_argument(
            "--dry-run", action="store_true", help="Validate and report; store nothing."
        )
        parser.add_argument(
            "--no-scan", action="store_true", help="Do not check the imported statements."
        )

    def handle(self, *args, files, dry_run, no_scan, **options):
        failed = 0
        for path in files:
            try:
                data = path.read_bytes()
            except OSError as exc:
                self.stderr.write(f"{path}: cannot read ({exc.strerror})")
                failed += 1
                continue
            report = import_file(data, path.name, save=not dry_run, source=path.name)
            writer = self.stdout if report.ok else self.stderr
            writer.write(report.summary())
            for warning in report.warnings:
                self.stdout.write(f"  warning: {warning}")
            for error in report.shown_errors():
                self.stderr.write(f"  {error}")
            if len(report.errors) > len(report.shown_errors()):
                self.stderr.write(
                    f"  ... and {len(report.errors) - len(report.shown_errors())} more"
                )
            if not report.ok:
                failed += 1
            elif report.saved and not no_scan:
                scan = start_scan(Scan.Scope.SELECTED, report.statement_ids, "import_statements")
                self.stdout.write(f"  checking {len(report.statement_ids)} statement(s): {scan}")
        if failed:
            raise CommandError(f"{failed} of {len(files)} file(s) were not imported")
