"""Fetch-and-authorise helpers: the one door every view goes through.

Outside the user's scope an object does not exist (404). A request that needs
a role the user lacks is refused (403). See docs/permissions.md.
"""

from functools import wraps

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404

from .models import Accused, BailRequest, Case, Detainee, Hearing, Lawyer, Representation


def is_admin(user) -> bool:
    return user.is_authenticated and user.is_admin


def is_coordinator(user) -> bool:
    return user.is_authenticated and user.is_coordinator


def can_assign(user) -> bool:
    """Coordinators assign and reassign caseworkers in their provinces; admins everywhere."""
    return is_admin(user) or is_coordinator(user)


def can_export(user) -> bool:
    return is_admin(user)


def can_see_history(user) -> bool:
    return is_admin(user) or is_coordinator(user)


def require_role(*roles: str):
    """403 unless the user has one of ``roles`` (admins pass every role check)."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            user = request.user
            if not (is_admin(user) or (user.is_active and user.role in roles)):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def get_case_for(user, pk, queryset=None) -> Case:
    base = queryset if queryset is not None else Case.objects.all()
    return get_object_or_404(base.visible_to(user), pk=pk)


def get_detainee_for(user, pk, queryset=None) -> Detainee:
    base = queryset if queryset is not None else Detainee.objects.all()
    return get_object_or_404(base.visible_to(user), pk=pk)


def get_hearing_for(user, pk) -> Hearing:
    return get_object_or_404(Hearing.objects.visible_to(user).select_related("case"), pk=pk)


def get_bail_request_for(user, pk) -> BailRequest:
    return get_object_or_404(
        BailRequest.objects.visible_to(user).select_related("case", "accused__detainee"), pk=pk
    )


def get_accused_for(user, pk) -> Accused:
    """One person accused in a case, when the case is in the user's scope."""
    return get_object_or_404(
        Accused.objects.filter(case__in=Case.objects.visible_to(user).values("pk")).select_related(
            "case", "detainee"
        ),
        pk=pk,
    )


def get_lawyer_for(user, pk) -> Lawyer:
    return get_object_or_404(Lawyer.objects.visible_to(user), pk=pk)


def get_representation_for(user, pk) -> Representation:
    return get_object_or_404(
        Representation.objects.visible_to(user).select_related(
            "lawyer", "accused__detainee", "accused__case"
        ),
        pk=pk,
    )


def can_see_sensitive(user, detainee: Detainee) -> bool:
    """Family contact and whereabouts: the assigned caseworker, the province's
    coordinators and admins; never in lists, search results or anonymised exports."""
    if is_admin(user):
        return True
    if not user.is_authenticated or not user.is_active:
        return False
    cases = Case.objects.filter(accused__detainee=detainee)
    if is_coordinator(user):
        return cases.filter(province__in=user.provinces.values("pk")).exists()
    return (
        cases.filter(caseworker=user).exists()
        or cases.filter(caseworker__isnull=True, opened_by=user).exists()
    )
