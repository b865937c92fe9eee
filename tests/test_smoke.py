def test_login_page_is_open(client, db):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b"Sign in" in response.content


def test_anonymous_is_sent_to_login(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_healthz_checks_database(client, db):
    response = client.get("/healthz")
    assert response.json() == {"status": "ok"}
