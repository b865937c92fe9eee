"""`make serve` starts without collecting the static files again or migrating as the
app's role: static files are built when the code changes (`make build`), migrations
run as the tables' owner (docs/deploy.md). Read from `make -n`, which runs nothing."""

import os
import shutil
import subprocess

import pytest

from .test_settings import BASE_DIR

pytestmark = pytest.mark.skipif(not shutil.which("make"), reason="needs make")


def planned(target: str, static_root) -> str:
    result = subprocess.run(  # noqa: S603
        ["make", "-n", target, f"STATIC_ROOT={static_root}"],  # noqa: S607
        cwd=BASE_DIR, capture_output=True, text=True, timeout=60,
        env={**os.environ, "DATABASE_URL": "postgres://casework_app@127.0.0.1/casework"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def collected(tmp_path):
    """A STATIC_ROOT collected after the last change to the static files."""
    manifest = tmp_path / "staticfiles.json"
    manifest.write_text("{}")
    newest = max(p.stat().st_mtime for p in (BASE_DIR / "static").rglob("*") if p.is_file())
    installed = (BASE_DIR / ".venv" / ".installed").stat().st_mtime
    later = max(newest, installed) + 60
    os.utime(manifest, (later, later))
    return tmp_path


def test_serve_does_not_collect_static_files_already_collected(collected):
    plan = planned("serve", collected)
    assert "collectstatic" not in plan
    assert "gunicorn" in plan


def test_static_files_are_collected_again_after_a_change(collected):
    os.utime(collected / "staticfiles.json", (0, 0))  # older than every source
    assert "collectstatic" in planned("serve", collected)
    assert "collectstatic" in planned("build", collected)


def test_serve_never_migrates_it_only_checks(collected):
    plan = planned("serve", collected)
    assert "migrate --check" in plan
    assert "migrate --noinput" not in plan
