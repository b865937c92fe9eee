"""Importing people and cases from a spreadsheet: read, plan, then write all or nothing.

One row per person in a case (a case with three accused is three rows that
repeat the case's reference). ``read_upload`` turns the uploaded file into
rows of text; ``plan_import`` works out, without writing, what each row would
create or change and what is wrong with it; ``apply_plan`` writes the plan in
one transaction, refusing if any row has an error. The preview and the commit
run the same planning, so what is committed is what the preview showed (the
view compares the two plans' digests).

Matching, so that importing the same file twice changes nothing:

- a case by its NGO reference;
- a person by ``person_id`` (the number in the people export), else by name
  among the accused of the row's case, else by the same names and year of
  birth on an earlier row of the file; otherwise the person is new.

An empty cell leaves what is on file as it is; imports never clear a field,
never remove a charge, an alias or an accused, and never change a custody
status that is already recorded (custody moves through dated events on the
case page, which also run the detention clocks). Family contact, whereabouts
and notes are not importable: they are entered on the person's page only.
"""

from .columns import (
    COLUMNS,
    EXAMPLE_PREFIX,
    KEYS,
    LABELS,
    Column,
    template_example,
    template_header,
)
from .planning import ImportPlan, plan_import
from .reading import ImportFileError, read_upload
from .writing import PlanChanged, apply_plan

__all__ = [
    "COLUMNS",
    "EXAMPLE_PREFIX",
    "KEYS",
    "LABELS",
    "Column",
    "ImportFileError",
    "ImportPlan",
    "PlanChanged",
    "apply_plan",
    "plan_import",
    "read_upload",
    "template_example",
    "template_header",
]
