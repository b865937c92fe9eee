"""Two-factor sign-in: required for admins and coordinators, a setting for everyone,
single-use codes, backup codes, an admin's reset, and the password asked again
before changing any of it."""

import base64
import time

import pytest
from django.contrib.sessions.models import Session
from django.test import Client, override_settings
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Role
from accounts.sessions import PASSWORD_CONFIRMED
from accounts.views import PENDING
from audit.models import AuditEntry, AuditEvent

from . import factories as f

PASSWORD = "a-long-test-password"  # tests/factories.make_user

pytestmark = pytest.mark.django_db


def device_for(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="default", confirmed=True)


def code(device) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def sign_in(client, username, password=PASSWORD, **extra):
    return client.post(reverse("login"), {"username": username, "password": password}, **extra)


def enter_code(client, value, **extra):
    return client.post(reverse("login_verify"), {"otp_token": value}, **extra)


# --- Who must use it ---------------------------------------------------------


@pytest.mark.parametrize("role", [Role.ADMIN, Role.COORDINATOR])
def test_admins_and_coordinators_without_a_device_are_sent_to_set_one_up(client, role):
    f.make_user("boss", role=role)
    response = sign_in(client, "boss")
    assert response.status_code == 302  # password alone signs in, then...
    for url in ("/", "/cases/", "/detainees/", "/admin/"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == reverse("two_factor:setup"), url


def test_caseworkers_need_no_second_factor_by_default(client, caseworker):
    assert sign_in(client, "caseworker").status_code == 302
    assert client.get("/").status_code == 200


@override_settings(REQUIRE_2FA_FOR_ALL=True)
def test_a_setting_makes_it_required_for_everyone(client, caseworker):
    sign_in(client, "caseworker")
    response = client.get("/")
    assert response["Location"] == reverse("two_factor:setup")


@override_settings(TWO_FACTOR_REQUIRED_ROLES=["admin"])
def test_the_required_roles_are_a_setting(client, coordinator):
    sign_in(client, "coordinator")
    assert client.get("/").status_code == 200


@override_settings(TWO_FACTOR_ENFORCED=False)
def test_enforcement_can_be_switched_off_for_a_local_run(client, coordinator):
    sign_in(client, "coordinator")
    assert client.get("/").status_code == 200


def test_a_verified_coordinator_reaches_the_pages(coordinator_client):
    assert coordinator_client.get("/").status_code == 200


# --- Enrolment ---------------------------------------------------------------


def _hex_key(secret_b32: str) -> bytes:
    return base64.b32decode(secret_b32)


def test_coordinator_enrols_with_the_wizard_and_then_works(client, coordinator):
    sign_in(client, "coordinator")
    setup = reverse("two_factor:setup")
    page = client.get(setup)
    assert page.status_code == 200
    page = client.post(setup, {"setup_view-current_step": "welcome"})
    assert page.status_code == 200 and page.context["wizard"]["steps"].current == "generator"
    # The QR code is an image from our own host (CSP img-src 'self').
    qr = client.get(reverse("two_factor:qr"))
    assert qr.status_code == 200 and qr["Content-Type"].startswith("image/svg+xml")
    key = _hex_key(page.context["secret_key"])
    token = f"{totp(key):06d}"
    done = client.post(setup, {"setup_view-current_step": "generator", "generator-token": token})
    assert done.status_code == 302
    assert TOTPDevice.objects.filter(user=coordinator, confirmed=True).count() == 1
    assert client.get("/").status_code == 200  # verified by the enrolment itself
    assert AuditEntry.objects.filter(
        event=AuditEvent.CHANGE, object_id=coordinator.pk, additional_data__two_factor__isnull=False
    ).exists()


def test_backup_codes_are_made_and_shown_once_asked(coordinator_client, coordinator):
    session = coordinator_client.session
    session[PASSWORD_CONFIRMED] = int(time.time())
    session.save()
    url = reverse("two_factor:backup_tokens")
    assert coordinator_client.post(url).status_code == 302
    page = coordinator_client.get(url)
    tokens = StaticToken.objects.filter(device__user=coordinator)
    assert tokens.count() == 10
    assert all(t.token in page.content.decode() for t in tokens)


# --- Signing in with the second factor -------------------------------------


@pytest.fixture
def enrolled(coordinator):
    return device_for(coordinator)


def test_password_alone_does_not_sign_in_an_enrolled_user(client, enrolled):
    response = sign_in(client, "coordinator")
    assert response["Location"] == reverse("login_verify")
    assert client.get("/")["Location"].startswith(reverse("login"))
    assert not AuditEntry.objects.filter(event=AuditEvent.LOGIN).exists()


def test_the_right_code_signs_in_and_is_recorded(client, enrolled, coordinator):
    sign_in(client, "coordinator")
    response = enter_code(client, code(enrolled))
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200
    assert AuditEntry.objects.filter(event=AuditEvent.LOGIN, actor=coordinator).count() == 1


def test_next_survives_the_code_step(client, enrolled):
    client.post(
        reverse("login") + "?next=/cases/", {"username": "coordinator", "password": PASSWORD}
    )
    assert enter_code(client, code(enrolled))["Location"] == "/cases/"


def test_a_totp_code_works_once(client, enrolled):
    token = code(enrolled)
    sign_in(client, "coordinator")
    assert enter_code(client, token).status_code == 302
    client.post(reverse("logout"))

    sign_in(client, "coordinator")
    response = enter_code(client, token)
    assert response.status_code == 200
    assert "otp_token" in response.context["form"].errors
    assert client.get("/").status_code == 302
    failed = AuditEntry.objects.filter(event=AuditEvent.LOGIN_FAILED).get()
    assert failed.additional_data == {"username": "coordinator"}
    assert token not in repr(AuditEntry.objects.filter(pk=failed.pk).values().get())


def test_a_wrong_code_is_refused(client, enrolled):
    sign_in(client, "coordinator")
    wrong = f"{(int(code(enrolled)) + 1) % 1000000:06d}"
    assert enter_code(client, wrong).status_code == 200
    assert client.get("/").status_code == 302


def test_a_backup_code_works_once(client, enrolled, coordinator):
    backup = StaticDevice.objects.create(user=coordinator, name="backup")
    backup.token_set.create(token="abcd2345")
    sign_in(client, "coordinator")
    assert enter_code(client, "ABCD 2345").status_code == 302  # spaces and case forgiven
    client.post(reverse("logout"))
    sign_in(client, "coordinator")
    assert enter_code(client, "abcd2345").status_code == 200
    assert not StaticToken.objects.filter(token="abcd2345").exists()


def test_the_code_step_without_a_password_first_goes_back_to_sign_in(client, enrolled):
    assert client.get(reverse("login_verify"))["Location"] == reverse("login")
    assert enter_code(client, code(enrolled))["Location"] == reverse("login")


def test_the_code_step_expires(client, enrolled, settings):
    sign_in(client, "coordinator")
    session = client.session
    session[PENDING]["at"] -= settings.LOGIN_CODE_STEP_SECONDS + 1
    session.save()
    response = enter_code(client, code(enrolled))
    assert response["Location"] == reverse("login")
    assert client.get("/").status_code == 302


def test_wrong_codes_count_towards_the_lockout(client, enrolled, settings):
    settings.AXES_FAILURE_LIMIT = 3
    sign_in(client, "coordinator")
    for _ in range(3):
        response = enter_code(client, "000000")
    assert response.status_code == 429
    # Locked: even the right code is refused now.
    assert enter_code(client, code(enrolled)).status_code == 429
    assert client.get("/").status_code == 302


# --- An admin resets a lost phone -------------------------------------------


def test_admin_resets_a_users_second_factor(admin_client_, admin_user, coordinator, enrolled):
    StaticDevice.objects.create(user=coordinator, name="backup").token_set.create(token="zzzz7777")
    theirs = Client()
    sign_in(theirs, "coordinator")
    enter_code(theirs, code(enrolled))
    assert theirs.get("/").status_code == 200

    changelist = reverse("admin:accounts_user_changelist")
    choices = admin_client_.get(changelist).context["action_form"].fields["action"].choices
    assert "reset_two_factor" in dict(choices)
    response = admin_client_.post(
        changelist, {"action": "reset_two_factor", "_selected_action": [coordinator.pk]}
    )
    assert response.status_code == 302

    assert not TOTPDevice.objects.filter(user=coordinator).exists()
    assert not StaticToken.objects.filter(device__user=coordinator).exists()
    assert theirs.get("/").status_code == 302  # their session was ended
    entry = AuditEntry.objects.filter(event=AuditEvent.CHANGE, object_id=coordinator.pk).latest(
        "id"
    )
    assert entry.actor == admin_user
    assert entry.additional_data["two_factor"] == "reset by an admin"
    # Next sign-in: the password, then set up a new device.
    fresh = Client()
    sign_in(fresh, "coordinator")
    assert fresh.get("/")["Location"] == reverse("two_factor:setup")


def test_the_user_list_shows_who_has_a_second_factor(admin_client_, coordinator, enrolled):
    body = admin_client_.get(reverse("admin:accounts_user_changelist")).content.decode()
    assert "two-factor" in body.lower()


def test_device_secrets_are_not_in_the_admin(admin_client_):
    from django.contrib import admin

    assert not admin.site.is_registered(TOTPDevice)
    assert not admin.site.is_registered(StaticDevice)


# --- The admin's own login form is not a way around the code ----------------


def test_admin_login_sends_visitors_to_the_sign_in_page(client, db):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_admin_login_accepts_no_password(client, admin_user):
    response = client.post("/admin/login/", {"username": "admin", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 302
    assert "_auth_user_id" not in client.session


def test_admin_login_refuses_signed_in_non_admins(coordinator_client):
    assert coordinator_client.get("/admin/login/").status_code == 403


def test_admin_login_lets_admins_through(admin_client_):
    response = admin_client_.get("/admin/login/?next=/admin/")
    assert response["Location"] == "/admin/"


# --- Sensitive changes ask for the password again ----------------------------


@pytest.mark.parametrize(
    "name", ["two_factor:setup", "two_factor:backup_tokens", "two_factor:disable"]
)
def test_second_factor_changes_ask_for_the_password(coordinator_client, name):
    url = reverse(name)
    response = coordinator_client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("confirm_password"))

    wrong = coordinator_client.post(
        reverse("confirm_password"), {"password": "not-my-password-1", "next": url}
    )
    assert wrong.status_code == 200 and "password" in wrong.context["form"].errors
    assert coordinator_client.get(url).status_code == 302

    right = coordinator_client.post(
        reverse("confirm_password"), {"password": PASSWORD, "next": url}
    )
    assert right["Location"] == url
    response = coordinator_client.get(url)
    assert not response.get("Location", "").startswith(reverse("confirm_password"))


def test_confirm_password_does_not_redirect_elsewhere(coordinator_client):
    response = coordinator_client.post(
        reverse("confirm_password"), {"password": PASSWORD, "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("account")


def test_password_confirmation_expires(coordinator_client, settings):
    session = coordinator_client.session
    session[PASSWORD_CONFIRMED] = int(time.time()) - 3600
    session.save()
    assert coordinator_client.get(reverse("two_factor:disable")).status_code == 302


def test_removing_the_second_factor_needs_the_password_then_asks_for_a_new_one(
    coordinator_client, coordinator
):
    url = reverse("two_factor:disable")
    coordinator_client.post(reverse("confirm_password"), {"password": PASSWORD, "next": url})
    assert coordinator_client.post(url, {"understand": "on"}).status_code == 302
    assert not TOTPDevice.objects.filter(user=coordinator).exists()
    # Required for coordinators: the next page is the enrolment.
    assert coordinator_client.get("/")["Location"] == reverse("two_factor:setup")


def test_email_change_needs_the_password(caseworker_client, caseworker):
    url = reverse("email_change")
    response = caseworker_client.post(url, {"email": "new@example.org", "password": "wrong-one"})
    assert response.status_code == 200
    caseworker.refresh_from_db()
    assert caseworker.email != "new@example.org"
    response = caseworker_client.post(url, {"email": "new@example.org", "password": PASSWORD})
    assert response.status_code == 302
    caseworker.refresh_from_db()
    assert caseworker.email == "new@example.org"


def test_password_change_needs_the_old_password_and_ends_other_sessions(caseworker):
    mine, other = Client(), Client()
    for c in (mine, other):
        sign_in(c, "caseworker")
    new = "a brand new passphrase with words"
    url = reverse("password_change")
    bad = mine.post(url, {"old_password": "wrong", "new_password1": new, "new_password2": new})
    assert bad.status_code == 200
    good = mine.post(url, {"old_password": PASSWORD, "new_password1": new, "new_password2": new})
    assert good.status_code == 302
    assert mine.get("/").status_code == 200  # this session goes on
    assert other.get("/").status_code == 302  # the other one is signed out
    assert Session.objects.count() >= 1
    assert AuditEntry.objects.filter(
        event=AuditEvent.CHANGE, object_id=caseworker.pk, additional_data__password__isnull=False
    ).exists()


def test_account_page_shows_the_second_factor_state(coordinator_client, caseworker_client):
    assert "On:" in coordinator_client.get(reverse("account")).content.decode()
    assert caseworker_client.get(reverse("account")).status_code == 200


@pytest.mark.parametrize(
    "url, field", [("confirm_password", "password"), ("email_change", "password")]
)
def test_guessing_the_password_behind_a_signed_in_session_is_locked_out_too(
    caseworker_client, settings, url, field
):
    settings.AXES_FAILURE_LIMIT = 3
    for n in range(3):
        response = caseworker_client.post(
            reverse(url), {field: f"guess-number-{n}-xx", "email": "x@example.org"}
        )
    assert response.status_code == 429
    right = caseworker_client.post(reverse(url), {field: PASSWORD, "email": "x@example.org"})
    assert right.status_code == 429
    assert AuditEntry.objects.filter(event=AuditEvent.LOGIN_FAILED).count() >= 3


def test_wrong_old_passwords_count_towards_the_lockout(caseworker_client, settings):
    settings.AXES_FAILURE_LIMIT = 2
    data = {"new_password1": "a new long passphrase", "new_password2": "a new long passphrase"}
    for n in range(2):
        response = caseworker_client.post(
            reverse("password_change"), {"old_password": f"wrong-{n}", **data}
        )
    assert response.status_code == 429


# --- A refused form opens on the app's error summary -----------------------------


def _summary_links(response) -> list[str]:
    """The links of the page's error summary (static/js/app.js focuses it)."""
    import re

    page = response.content.decode()
    assert page.count("data-error-summary") == 1, "no error summary, or two"
    summary = page.split("data-error-summary", 1)[1].split("</div>", 1)[0]
    assert 'class="alert alert-block alert-danger"' not in page  # crispy's own alert
    return re.findall(r'href="(#[^"]+)"', summary)


def test_a_wrong_password_at_sign_in_links_to_the_username(client, caseworker):
    response = sign_in(client, "caseworker", "not-the-password-1")
    assert _summary_links(response) == ["#id_username"]
    assert response.content.decode().count("Please enter a correct username") == 1


def test_an_empty_sign_in_links_to_each_field(client, db):
    response = client.post(reverse("login"), {"username": "", "password": ""})
    assert _summary_links(response) == ["#id_username", "#id_password"]


def test_the_page_before_any_mistake_has_no_summary(client, db):
    assert "data-error-summary" not in client.get(reverse("login")).content.decode()


def test_a_wrong_code_links_to_the_code_field(client, enrolled):
    sign_in(client, "coordinator")
    assert _summary_links(enter_code(client, "000000x")) == ["#id_otp_token"]


def test_a_wrong_code_while_setting_up_links_to_the_code_field(client, coordinator):
    sign_in(client, "coordinator")
    setup = reverse("two_factor:setup")
    client.get(setup)
    client.post(setup, {"setup_view-current_step": "welcome"})
    wrong = client.post(setup, {"setup_view-current_step": "generator", "generator-token": "1"})
    assert wrong.context["wizard"]["steps"].current == "generator"
    assert _summary_links(wrong) == ["#id_generator-token"]


def test_the_password_forms_link_to_their_fields(coordinator_client):
    url = reverse("two_factor:disable")
    wrong = coordinator_client.post(
        reverse("confirm_password"), {"password": "not-my-password-1", "next": url}
    )
    assert _summary_links(wrong) == ["#id_password"]
    coordinator_client.post(reverse("confirm_password"), {"password": PASSWORD, "next": url})
    assert _summary_links(coordinator_client.post(url, {})) == ["#id_understand"]
    change = coordinator_client.post(
        reverse("password_change"),
        {"old_password": "wrong", "new_password1": "", "new_password2": ""},
    )
    assert _summary_links(change) == ["#id_old_password", "#id_new_password1", "#id_new_password2"]
    email = coordinator_client.post(reverse("email_change"), {"email": "x", "password": "wrong"})
    assert _summary_links(email) == ["#id_email", "#id_password"]
