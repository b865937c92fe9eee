"""A forgotten password: the app's own pages (not the admin's), in English and Khmer,
an email with a one-time link, the new password set and written to the audit log;
signing in afterwards still asks for the second factor."""

import re

import pytest
from django.core import mail
from django.test import Client

from audit.models import AuditEntry, AuditEvent

from . import factories as f

PAGES = ["/accounts/password-reset/", "/accounts/password-reset/sent/", "/accounts/reset/done/"]


@pytest.fixture
def person(db):
    return f.make_user("reset-me", email="reset-me@example.org")


def _link(message) -> str:
    return re.search(r"https?://[^/\s]+(/accounts/reset/\S+/)", message.body).group(1)


@pytest.mark.parametrize("url", PAGES)
@pytest.mark.parametrize("language", ["en", "km"])
def test_the_pages_are_the_apps_own_in_both_languages(db, url, language):
    response = Client(HTTP_ACCEPT_LANGUAGE=language).get(url)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Django" not in body  # not the admin's templates
    assert 'class="card shadow-sm mt-4"' in body
    if language == "km":
        assert 'lang="km"' in body and "Forgotten your password?" not in body


def test_a_link_is_emailed_and_sets_a_new_password_once(person):
    client = Client()
    asked = client.post("/accounts/password-reset/", {"email": "reset-me@example.org"})
    assert asked.status_code == 302 and asked["Location"] == "/accounts/password-reset/sent/"
    (message,) = mail.outbox
    assert message.to == ["reset-me@example.org"] and "Casework" in message.subject
    assert "reset-me" in message.body
    link = _link(message)

    form = client.get(link, follow=True)
    assert form.status_code == 200 and form.context["validlink"]
    url = form.redirect_chain[-1][0]
    done = client.post(
        url,
        {"new_password1": "a brand new long phrase", "new_password2": "a brand new long phrase"},
    )
    assert done.status_code == 302 and done["Location"] == "/accounts/reset/done/"
    person.refresh_from_db()
    assert person.check_password("a brand new long phrase")
    entry = AuditEntry.objects.filter(event=AuditEvent.CHANGE, object_pk=str(person.pk)).latest(
        "id"
    )
    assert entry.additional_data == {"password": "set from an emailed reset link"}
    assert "a brand new long phrase" not in str(entry.changes) + str(entry.additional_data)

    # The link works once.
    again = Client().get(link, follow=True)
    assert not again.context["validlink"]
    assert "This link does not work" in again.content.decode()


def test_an_unknown_address_says_the_same_and_sends_nothing(person):
    response = Client().post("/accounts/password-reset/", {"email": "nobody@example.org"})
    assert response.status_code == 302 and response["Location"] == "/accounts/password-reset/sent/"
    assert mail.outbox == []


def test_passwords_that_differ_are_shown_in_the_error_summary(person):
    client = Client()
    client.post("/accounts/password-reset/", {"email": "reset-me@example.org"})
    form = client.get(_link(mail.outbox[0]), follow=True)
    refused = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "a brand new long phrase", "new_password2": "another long phrase"},
    )
    assert refused.status_code == 200
    body = refused.content.decode()
    assert 'id="error-summary"' in body and 'href="#id_new_password2"' in body
    person.refresh_from_db()
    assert not person.check_password("another long phrase")


def test_links_are_limited_per_address_and_per_client(person, settings):
    from accounts import views

    def ask(email, address="203.0.113.7"):
        response = Client(REMOTE_ADDR=address).post("/accounts/password-reset/", {"email": email})
        # The same answer whether a link was sent or not.
        assert response.status_code == 302
        assert response["Location"] == "/accounts/password-reset/sent/"

    for _ in range(views.RESET_LINKS_PER_ADDRESS + 2):
        ask("reset-me@example.org")
    assert len(mail.outbox) == views.RESET_LINKS_PER_ADDRESS
    # Another address from another client still gets its link; one client asking for many
    # addresses is stopped too.
    other = f.make_user("reset-too", email="reset-too@example.org")
    ask("reset-too@example.org", address="198.51.100.9")
    assert mail.outbox[-1].to == [other.email]
    sent = len(mail.outbox)
    for n in range(views.RESET_LINKS_PER_CLIENT + 2):
        ask(f"nobody-{n}@example.org", address="192.0.2.1")
    ask("reset-too@example.org", address="192.0.2.1")
    assert len(mail.outbox) == sent  # that client is past its limit
