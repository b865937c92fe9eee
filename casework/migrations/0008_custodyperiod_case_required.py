"""The case on each custody period is required, and carried by the open-periods index
(0007 filled it in)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("casework", "0007_custodyperiod_case"),
    ]

    operations = [
        migrations.AlterField(
            model_name="custodyperiod",
            name="case",
            field=models.ForeignKey(
                editable=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="custody_periods",
                to="casework.case",
                verbose_name="case",
            ),
        ),
        migrations.RemoveIndex(
            model_name="custodyperiod",
            name="custody_open_by_runs_out",
        ),
        migrations.AddIndex(
            model_name="custodyperiod",
            index=models.Index(
                condition=models.Q(("ended_at__isnull", True)),
                fields=["runs_out_at"],
                include=("accused", "case"),
                name="custody_open_by_runs_out",
            ),
        ),
    ]
