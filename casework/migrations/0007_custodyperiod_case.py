"""The case on each custody period, copied from its accused (bench/README.md, issue 7).

"Which open cases have someone near or past the legal limit" (the dashboards'
caseload, the case list's flag) was traced from each near-limit period through
the accused table, a million rows, to its case: a hundred milliseconds at a
million cases. With the case on the period it is read from the open-periods
index alone. ``CustodyPeriod.save`` keeps it equal to the accused's case, as
``BailRequest.save`` does.

Existing rows are filled in one statement; 0008 makes the column required (apart,
so PostgreSQL checks the filled foreign keys before the table is altered).
"""

import django.db.models.deletion
from django.db import migrations, models

FILL = """
UPDATE casework_custodyperiod SET case_id = (
    SELECT a.case_id FROM casework_accused a WHERE a.id = casework_custodyperiod.accused_id
)
"""


class Migration(migrations.Migration):
    dependencies = [
        ("casework", "0006_dashboard_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="custodyperiod",
            name="case",
            field=models.ForeignKey(
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="custody_periods",
                to="casework.case",
                verbose_name="case",
            ),
        ),
        migrations.RunSQL(FILL, migrations.RunSQL.noop, elidable=False),
    ]
