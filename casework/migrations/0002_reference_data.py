from django.db import migrations

from casework.reference import (
    CHARGES,
    DETENTION_LIMITS,
    NATIONAL_COURTS,
    PROVINCES,
    first_instance_court_names,
)


def load(apps, schema_editor):
    Province = apps.get_model("casework", "Province")
    Court = apps.get_model("casework", "Court")
    Charge = apps.get_model("casework", "Charge")
    DetentionLimit = apps.get_model("casework", "DetentionLimit")
    for code, name_en, name_km in PROVINCES:
        province, _ = Province.objects.update_or_create(
            code=code, defaults={"name_en": name_en, "name_km": name_km}
        )
        court_en, court_km = first_instance_court_names(code, name_en, name_km)
        Court.objects.update_or_create(
            name_en=court_en,
            defaults={"name_km": court_km, "level": "first_instance", "province": province},
        )
    for level, name_en, name_km in NATIONAL_COURTS:
        Court.objects.update_or_create(
            name_en=name_en, defaults={"name_km": name_km, "level": level, "province": None}
        )
    for article, name_en, name_km in CHARGES:
        Charge.objects.update_or_create(
            name_en=name_en, defaults={"name_km": name_km, "article": article}
        )
    for code, name_en, name_km, article, unit, initial, extension, max_ext, maximum in DETENTION_LIMITS:
        DetentionLimit.objects.update_or_create(
            code=code,
            defaults={
                "name_en": name_en,
                "name_km": name_km,
                "article": article,
                "unit": unit,
                "initial": initial,
                "extension": extension,
                "max_extensions": max_ext,
                "maximum": maximum,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("casework", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
