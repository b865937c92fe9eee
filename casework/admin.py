"""Django admin for every model. Only admins reach it; querysets still start from scope."""

from django.contrib import admin
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from audit.log import record_search, record_view
from config.admin import RoleAdmin

from . import models, services
from .forms import MergingForm, VersionedForm


class ServiceAdmin(RoleAdmin):
    """The admin keeps its pages; its writes go through casework.services, the functions
    the pages call, so the rules, the custody clock, the version and the audit entry
    are the same whichever door a change comes in by (docs/architecture.md).

    Every record's form carries what it was opened with and merges three ways
    (casework/editing.py): an admin's save never erases a field someone else saved
    meanwhile, and a field both changed is shown side by side to choose from. Records
    with a version (case, person, hearing, bail request) carry it too.
    """

    form = VersionedForm

    def get_form(self, request, obj=None, change=False, **kwargs):
        if not hasattr(self.model, "version"):
            kwargs.setdefault("form", MergingForm)
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request, obj=None):
        # The version is the model's own (not editable); the form's hidden base is shown.
        return [name for name in super().get_fields(request, obj) if name != "version"]

    def save_model(self, request, obj, form, change):
        m2m = {
            field.name: list(form.cleaned_data[field.name])
            for field in obj._meta.many_to_many
            if field.name in form.cleaned_data
        }
        services.record_save(
            actor=request.user,
            instance=obj,
            base=getattr(form, "base", None) if change else None,
            m2m=m2m or None,
        )

    def save_related(self, request, form, formsets, change):
        # Many-to-many fields were set by the service with the record.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def save_formset(self, request, form, formset, change):
        for obj in formset.save(commit=False):
            services.record_save(actor=request.user, instance=obj)
        for obj in formset.deleted_objects:
            services.record_delete(actor=request.user, instance=obj)

    def get_search_results(self, request, queryset, search_term):
        if search_term.strip():
            match = getattr(request, "resolver_match", None)
            if match is not None and match.view_name == "admin:autocomplete":
                # Picking a record in a form: a request per keystroke, kept to one
                # entry per field per minute (docs/audit.md, "Searches").
                from audit.log import record_autocomplete_search

                record_autocomplete_search(request, model=self.model, term=search_term[:500])
            else:
                record_search(request, model=self.model, query={"admin": search_term[:500]})
        return super().get_search_results(request, queryset, search_term)

    def delete_model(self, request, obj):
        services.record_delete(actor=request.user, instance=obj)

    def delete_queryset(self, request, queryset):
        # One by one, through the service: each deletion has its effects and its entry.
        for obj in queryset:
            services.record_delete(actor=request.user, instance=obj)


class ScopedAdmin(ServiceAdmin):
    def get_queryset(self, request):
        qs = self.model._default_manager.visible_to(request.user)
        # Order explicitly: Meta.ordering is dropped from GROUP BY queries (CaseAdmin
        # counts the accused), and the autocomplete pages through this queryset.
        ordering = self.get_ordering(request) or self.model._meta.ordering
        return qs.order_by(*ordering) if ordering else qs


class ViewAuditedAdmin(ScopedAdmin):
    """Opening a case or a person in the admin is a read of a sensitive record too."""

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200:
            obj = (
                response.context_data.get("original") if hasattr(response, "context_data") else None
            )
            if obj is not None:
                record_view(request, obj)
        return response


class SummaryInline(admin.TabularInline):
    """A case's related rows, shown read-only with a link to edit each one.

    Editable inline widgets would run one query per row for their choices;
    a summary with select_related keeps the change page at a constant count.
    """

    extra = 0
    can_delete = False
    show_change_link = True
    select_related: tuple = ()

    def get_queryset(self, request):
        return super().get_queryset(request).select_related(*self.select_related)

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return request.user.is_admin


# --- Reference data -------------------------------------------------------


@admin.register(models.Province)
class ProvinceAdmin(ServiceAdmin):
    list_display = ["code", "name_en", "name_km"]
    search_fields = ["code", "name_en", "name_km"]


@admin.register(models.Court)
class CourtAdmin(ServiceAdmin):
    list_display = ["name_en", "name_km", "level", "province"]
    list_filter = ["level", "province"]
    list_select_related = ["province"]
    search_fields = ["name_en", "name_km"]
    autocomplete_fields = ["province"]


@admin.register(models.Charge)
class ChargeAdmin(ServiceAdmin):
    list_display = ["name_en", "name_km", "article", "classification"]
    list_filter = ["classification"]
    search_fields = ["name_en", "name_km", "article"]


@admin.register(models.DetentionLimit)
class DetentionLimitAdmin(ServiceAdmin):
    list_display = [
        "name_en",
        "article",
        "unit",
        "initial",
        "extension",
        "max_extensions",
        "maximum",
    ]
    search_fields = ["name_en", "name_km", "article"]


# --- People and cases -----------------------------------------------------


# Each row's __str__ is shown above it (show_change_link); Accused and Hearing
# name their case there, so the case is fetched with the row, not once per row.


class AccusedInline(SummaryInline):
    model = models.Accused
    fields = ["detainee", "custody_status", "added_on"]
    select_related = ("detainee", "case")


class HearingInline(SummaryInline):
    model = models.Hearing
    fields = ["kind", "scheduled_at", "court", "status", "lawyer", "outcome"]
    select_related = ("case", "court", "lawyer")


class BailRequestInline(SummaryInline):
    model = models.BailRequest
    fields = ["accused", "filed_on", "court", "filed_by", "decision", "decided_on"]
    select_related = ("accused__detainee", "accused__case", "court", "filed_by")


class EventInline(SummaryInline):
    model = models.Event
    fields = ["occurred_on", "kind", "accused", "source", "verified", "description"]
    select_related = ("accused__detainee", "accused__case")


@admin.register(models.Case)
class CaseAdmin(ViewAuditedAdmin):
    list_display = [
        "reference",
        "court_case_number",
        "province",
        "status",
        "opened_on",
        "caseworker",
        "accused_count",
    ]
    list_filter = ["province", "status", "court__level"]
    list_select_related = ["province", "caseworker"]
    search_fields = [
        "reference",
        "court_case_number",
        "title",
        "accused__detainee__name_latin",
        "accused__detainee__name_khmer",
        "accused__detainee__aliases",
    ]
    autocomplete_fields = ["court", "province", "caseworker", "opened_by", "charges"]
    date_hierarchy = "opened_on"
    inlines = [AccusedInline, HearingInline, BailRequestInline, EventInline]
    show_full_result_count = False

    def get_queryset(self, request):
        return (
            super().get_queryset(request).annotate(_accused_count=Count("accused", distinct=True))
        )

    @admin.display(description=_("accused"), ordering="_accused_count")
    def accused_count(self, obj):
        return obj._accused_count


@admin.register(models.Detainee)
class DetaineeAdmin(ViewAuditedAdmin):
    list_display = ["name_latin", "name_khmer", "sex", "birth_year", "home_province"]
    list_filter = ["home_province", "sex"]
    list_select_related = ["home_province"]
    search_fields = ["name_latin", "name_khmer", "aliases", "search_text"]
    autocomplete_fields = ["home_province"]
    show_full_result_count = False


class AccusedAdminForm(MergingForm):
    """A custody status set by hand has the effect of the matching event (services.
    accused_update): "pre-trial detention" needs a limit the charges call for, since
    this form has no limit to choose. A status the admin did not change is not theirs
    to check (the merge keeps what is stored)."""

    def clean(self):
        data = super().clean()
        status = data.get("custody_status")
        stored = self.instance.pk and models.Accused.objects.get(pk=self.instance.pk)
        base = getattr(self, "base", None) or {}
        if (
            stored
            and status == models.CustodyStatus.PRETRIAL
            and stored.custody_status != status
            and base.get("custody_status") != status
            and services.derive_limit(stored) is None
        ):
            self.add_error("custody_status", models.NO_LIMIT_BY_HAND)
        return data


@admin.register(models.Accused)
class AccusedAdmin(ScopedAdmin):
    list_display = ["detainee", "case", "custody_status", "added_on"]
    list_filter = ["custody_status", "case__province"]
    list_select_related = ["detainee", "case"]
    search_fields = [
        "detainee__name_latin",
        "detainee__name_khmer",
        "detainee__aliases",
        "case__reference",
        "case__court_case_number",
    ]
    autocomplete_fields = ["case", "detainee"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = AccusedAdminForm
        return super().get_form(request, obj, change, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        # An accused stays in their case: their bail requests and custody periods carry
        # it (copied on save). To follow the person in another case, add them there.
        return ["case"] if obj is not None else []

    def get_queryset(self, request):
        # Accused has no visible_to of its own: its case decides.
        qs = admin.ModelAdmin.get_queryset(self, request)
        return qs.filter(case__in=models.Case.objects.visible_to(request.user).values("pk"))


@admin.register(models.Lawyer)
class LawyerAdmin(ScopedAdmin):
    list_display = ["name", "name_khmer", "bar_number", "organisation"]
    search_fields = ["name", "name_khmer", "bar_number", "organisation"]


@admin.register(models.Representation)
class RepresentationAdmin(ServiceAdmin):
    list_display = ["lawyer", "accused", "since", "until", "end_reason"]
    list_select_related = ["lawyer", "accused__detainee", "accused__case"]
    list_filter = ["accused__case__province", "end_reason"]
    search_fields = ["lawyer__name", "accused__detainee__name_latin", "accused__case__reference"]
    autocomplete_fields = ["lawyer", "accused"]


@admin.register(models.Hearing)
class HearingAdmin(ScopedAdmin):
    list_display = ["case", "kind", "scheduled_at", "court", "status", "lawyer"]
    list_filter = ["status", "kind", "case__province"]
    list_select_related = ["case", "court", "lawyer"]
    search_fields = [
        "case__reference",
        "case__court_case_number",
        "case__accused__detainee__name_latin",
        "case__accused__detainee__name_khmer",
    ]
    autocomplete_fields = ["case", "court", "lawyer", "monitor"]
    date_hierarchy = "scheduled_at"


@admin.register(models.BailRequest)
class BailRequestAdmin(ScopedAdmin):
    list_display = ["accused", "court", "filed_on", "decision", "decided_on", "filed_by"]
    list_filter = ["decision", "court", "case__province"]
    list_select_related = ["accused__detainee", "accused__case", "court", "filed_by"]
    search_fields = [
        "case__reference",
        "case__court_case_number",
        "accused__detainee__name_latin",
        "accused__detainee__name_khmer",
    ]
    autocomplete_fields = ["accused", "court", "filed_by", "appeal_of"]


class EventAdminForm(MergingForm):
    """A detention order added here has no limit to choose: it needs one the charges
    call for (services.derive_limit), as the case page's form would otherwise ask."""

    def clean(self):
        data = super().clean()
        accused = data.get("accused")
        if (
            self.instance.pk is None
            and data.get("kind") == models.Event.Kind.PRETRIAL_DETENTION
            and accused is not None
            and services.derive_limit(accused) is None
        ):
            self.add_error("kind", models.NO_LIMIT_BY_HAND)
        return data


@admin.register(models.Event)
class EventAdmin(ScopedAdmin):
    list_display = ["occurred_on", "occurred_time", "kind", "case", "accused", "source", "verified"]
    list_filter = ["kind", "verified", "source", "case__province"]
    list_select_related = ["case", "accused__detainee", "accused__case"]
    search_fields = ["case__reference", "description", "accused__detainee__name_latin"]
    autocomplete_fields = ["case", "accused", "recorded_by"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = EventAdminForm
        return super().get_form(request, obj, change, **kwargs)


@admin.register(models.CustodyPeriod)
class CustodyPeriodAdmin(ScopedAdmin):
    list_display = [
        "accused",
        "limit",
        "custody_since",
        "started_at",
        "runs_out_at",
        "ended_at",
        "extensions",
    ]
    list_filter = ["limit", "accused__case__province"]
    list_select_related = ["accused__detainee", "accused__case", "limit"]
    search_fields = ["accused__detainee__name_latin", "accused__case__reference", "order_reference"]
    autocomplete_fields = ["accused", "limit"]
    readonly_fields = ["runs_out_at"]
