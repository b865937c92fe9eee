from django.core.management.base import BaseCommand, CommandError

from audit.chain import is_hash, verify


class Command(BaseCommand):
    help = (
        "Walk the audit log's hash chain. Exits 0 when intact and prints the head hash "
        "(keep it outside the database, see docs/audit.md); otherwise exits non-zero "
        "naming the first entry that was altered, removed or reordered."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--expect-head",
            metavar="HASH",
            help="A head hash kept outside the database earlier; it must still be in the chain.",
        )

    def handle(self, *args, **options):
        expected = options.get("expect_head")
        if expected is not None and not is_hash(expected.strip()):
            raise CommandError("--expect-head takes the 64-character hex hash printed earlier.")
        verdict = verify(expected_head=expected)
        if not verdict.ok:
            where = f"entry #{verdict.entry_id}" if verdict.entry_id else "the end of the log"
            raise CommandError(
                f"Audit log FAILED verification at {where}: {verdict.problem}. "
                f"{verdict.checked} entries before it are intact."
            )
        last = f", last #{verdict.head_id}" if verdict.head_id else ""
        self.stdout.write(self.style.SUCCESS(f"Audit log intact: {verdict.checked} entries{last}."))
        # Alone on its line so cron can keep it: `... | awk '/^head / {print $2}'`.
        self.stdout.write(f"head {verdict.head}")
