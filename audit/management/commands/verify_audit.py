from django.core.management.base import BaseCommand, CommandError

from audit.chain import verify


class Command(BaseCommand):
    help = (
        "Walk the audit log's hash chain. Exits 0 when intact; otherwise exits non-zero "
        "naming the first entry that was altered, removed or reordered."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--expect-head",
            metavar="HASH",
            help="A head hash kept outside the database; it must still be in the log.",
        )

    def handle(self, *args, **options):
        expected = options.get("expect_head")
        if expected is not None and (len(expected) != 64 or not _is_hex(expected)):
            raise CommandError("--expect-head takes the 64-character hex hash printed earlier.")
        verdict = verify(expected_head=expected)
        if not verdict.ok:
            where = f"entry #{verdict.entry_id}" if verdict.entry_id else "the end of the log"
            raise CommandError(
                f"Audit log FAILED verification at {where}: {verdict.problem}. "
                f"{verdict.checked} entries before it are intact."
            )
        self.stdout.write(
            self.style.SUCCESS(f"Audit log intact: {verdict.checked} entries.")
            + f"\nhead {verdict.head}"
        )


def _is_hex(value: str) -> bool:
    try:
        int(value, 16)
    except ValueError:
        return False
    return True
