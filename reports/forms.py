"""Forms of the reports app: the report's period and province, the import upload."""

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from casework.models import Province

from .figures import MAX_MONTHS, Period, default_period

# An upload larger than this is refused before it is read.
IMPORT_MAX_BYTES = getattr(settings, "IMPORT_MAX_BYTES", 5 * 1024 * 1024)


def provinces_for(user):
    """Admins choose any province; coordinators one of theirs."""
    if user.is_admin:
        return Province.objects.all()
    return Province.objects.filter(pk__in=user.provinces.values("pk"))


class ReportForm(forms.Form):
    start = forms.DateField(
        label=_("From"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    end = forms.DateField(
        label=_("Until"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    province = forms.ModelChoiceField(
        label=_("Province"),
        queryset=Province.objects.none(),
        to_field_name="code",
        required=False,
        empty_label=_("All my provinces"),
    )

    def __init__(self, data=None, *, user, **kwargs):
        start, end = default_period()
        # Missing fields take the defaults; a value given but not understood is an error.
        if data is not None:
            data = data.copy()
            data.setdefault("start", start.isoformat())
            data.setdefault("end", end.isoformat())
        super().__init__(data, initial={"start": start, "end": end}, **kwargs)
        self.fields["province"].queryset = provinces_for(user)
        if user.is_admin:
            self.fields["province"].empty_label = _("All provinces")
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.setdefault("class", css)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end:
            if end < start:
                raise ValidationError(_("The period ends before it starts."))
            months = (end.year - start.year) * 12 + end.month - start.month + 1
            if months > MAX_MONTHS:
                raise ValidationError(
                    _("Choose a period of at most %(n)d months.") % {"n": MAX_MONTHS}
                )
        return cleaned

    def period(self) -> Period:
        data = self.cleaned_data
        return Period(start=data["start"], end=data["end"], province=data.get("province"))

    def as_filters(self) -> dict:
        data = self.cleaned_data
        province = data.get("province")
        return {
            "start": data["start"].isoformat(),
            "end": data["end"].isoformat(),
            "province": province.code if province else "",
        }


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Spreadsheet (CSV or XLSX)"),
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".csv,.xlsx,text/csv,"
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "class": "form-control",
            }
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = _(
            "CSV (UTF-8) or Excel workbook, at most %(size)s, one row per person in a case."
        ) % {"size": filesizeformat(IMPORT_MAX_BYTES)}

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith((".csv", ".xlsx")):
            raise ValidationError(
                _(
                    "“%(name)s” is not a CSV or XLSX file. Save the spreadsheet as CSV UTF-8 "
                    "or as an Excel workbook (.xlsx) and upload it again."
                )
                % {"name": upload.name}
            )
        if upload.size > IMPORT_MAX_BYTES:
            raise ValidationError(
                _("The file is %(size)s; the limit is %(limit)s. Split it into smaller files.")
                % {
                    "size": filesizeformat(upload.size),
                    "limit": filesizeformat(IMPORT_MAX_BYTES),
                }
            )
        if upload.size == 0:
            raise ValidationError(_("The file is empty."))
        return upload
