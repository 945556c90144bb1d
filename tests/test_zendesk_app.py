"""The Zendesk sidebar app is uploadable: checks, packaging, and refusals."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest

from casefile.agent.cli import main
from casefile.agent.errors import UsageError
from casefile.agent.service.zendesk_app import APP_DIR, check_app, package_app, png_size

REFERENCE_MANIFEST = json.loads((APP_DIR / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture
def app_copy(tmp_path: Path) -> Path:
    target = tmp_path / "zendesk"
    shutil.copytree(APP_DIR, target)
    return target


def test_the_committed_app_passes_every_check() -> None:
    assert check_app() == []
    assert png_size((APP_DIR / "assets" / "logo.png").read_bytes()) == (320, 320)
    assert png_size((APP_DIR / "assets" / "logo-small.png").read_bytes()) == (128, 128)


def test_package_names_the_service_host_and_ships_only_the_app(tmp_path: Path) -> None:
    out = package_app("https://casefile.acme.dev/", tmp_path / "dist" / "app.zip")
    with zipfile.ZipFile(out) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["domainWhitelist"] == ["casefile.acme.dev"]
    service_url = next(p for p in manifest["parameters"] if p["name"] == "service_url")
    assert service_url["default"] == "https://casefile.acme.dev"
    secret = next(p for p in manifest["parameters"] if p["name"] == "shared_secret")
    assert secret["secure"] is True and "default" not in secret
    assert manifest["location"]["support"]["ticket_sidebar"]["url"] == "assets/iframe.html"
    assert {
        "assets/iframe.html",
        "assets/sidebar.js",
        "assets/backends.js",
        "assets/dom.js",
        "assets/logo.png",
        "assets/logo-small.png",
        "translations/en.json",
    } <= names
    assert not {"README.md", "make_logos.py"} & names
    # The checked-in manifest is not touched.
    assert json.loads((APP_DIR / "manifest.json").read_text(encoding="utf-8")) == REFERENCE_MANIFEST


@pytest.mark.parametrize(
    "url",
    [
        "http://casefile.acme.dev",
        "casefile.acme.dev",
        "https://",
        "https://user:pw@casefile.acme.dev",
        "https://casefile.acme.dev/?token=x",
    ],
)
def test_package_refuses_a_service_url_zendesk_would_not_trust(url: str, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="--service-url"):
        package_app(url, tmp_path / "app.zip")
    assert not (tmp_path / "app.zip").exists()


def test_every_problem_is_reported_at_once_and_nothing_is_written(app_copy: Path, tmp_path: Path) -> None:
    (app_copy / "assets" / "logo-small.png").unlink()
    # a PNG of the wrong size
    big = (app_copy / "assets" / "logo.png").read_bytes()
    (app_copy / "assets" / "logo.png").write_bytes(big[:16] + (64).to_bytes(4, "big") * 2 + big[24:])
    manifest = json.loads((app_copy / "manifest.json").read_text(encoding="utf-8"))
    del manifest["domainWhitelist"]
    manifest["location"]["support"]["ticket_sidebar"]["url"] = "assets/missing.html"
    del manifest["author"]["email"]
    (app_copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")

    reasons = [str(p) for p in check_app(app_copy)]
    assert "assets/logo-small.png: missing (a 128×128 PNG)" in reasons
    assert "assets/logo.png: is 64×64, must be 320×320" in reasons
    assert "manifest.json: ticket_sidebar url assets/missing.html does not exist" in reasons
    assert "manifest.json: secure settings ['shared_secret'] need a domainWhitelist" in reasons
    assert "manifest.json: author needs a name and an email" in reasons
    with pytest.raises(UsageError, match="not ready to upload") as raised:
        package_app("https://casefile.acme.dev", tmp_path / "app.zip", app_dir=app_copy)
    assert "logo-small.png" in str(raised.value)
    assert not (tmp_path / "app.zip").exists()


def test_broken_manifest_and_translations_are_named(app_copy: Path) -> None:
    (app_copy / "manifest.json").write_text("{not json", encoding="utf-8")
    assert [p.file for p in check_app(app_copy)] == ["manifest.json"]
    shutil.copy(APP_DIR / "manifest.json", app_copy / "manifest.json")
    (app_copy / "translations" / "en.json").write_text('{"app": {}}', encoding="utf-8")
    assert [str(p) for p in check_app(app_copy)] == ["translations/en.json: app.name is required"]
    (app_copy / "assets" / "logo.png").write_bytes(b"GIF89a not a png at all")
    assert "assets/logo.png: not a PNG" in [str(p) for p in check_app(app_copy)]


def test_cli_check_and_package(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["zendesk-app", "check"]) == 0
    out = tmp_path / "casefile.zip"
    assert main(["zendesk-app", "package", "--service-url", "https://cf.example.com", "--out", str(out)]) == 0
    assert zipfile.ZipFile(out).testzip() is None
    assert "wrote" in capsys.readouterr().out
    assert main(["zendesk-app", "package", "--service-url", "http://cf.example.com", "--out", str(out)]) == 2
    assert "https://" in capsys.readouterr().err
