"""Check and package the Zendesk sidebar app (``integrations/zendesk``) for upload.

Zendesk sends an app's secure settings only to the hosts in the manifest's
``domainWhitelist``, so the package must name the service's host; packaging
writes it (and the service URL as the setting's default) into the manifest
inside the zip, never into the checked-in file. The checks are the ones an
upload would fail on, reported all at once with the file they concern.
"""

from __future__ import annotations

import json
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from casefile import PACKAGE_DIR
from casefile.agent.errors import UsageError

__all__ = ["APP_DIR", "AppProblem", "check_app", "package_app", "png_size"]

APP_DIR = PACKAGE_DIR / "integrations" / "zendesk"
# The files an upload takes; anything else in the directory (README, the logo script) stays out.
PACKAGED = ("manifest.json", "assets", "translations")
LOGOS = {"assets/logo.png": (320, 320), "assets/logo-small.png": (128, 128)}
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class AppProblem:
    file: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.reason}"


def png_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG's IHDR chunk, or None when the bytes are not a PNG."""
    if len(data) < 24 or not data.startswith(_PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def _read_json(path: Path, problems: list[AppProblem], name: str) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        problems.append(AppProblem(name, "missing"))
        return None
    except (OSError, ValueError) as exc:
        problems.append(AppProblem(name, f"not valid JSON: {exc}"))
        return None
    if not isinstance(data, dict):
        problems.append(AppProblem(name, "must be a JSON object"))
        return None
    return data


def check_app(app_dir: Path = APP_DIR) -> list[AppProblem]:
    """Every problem that would make Zendesk refuse the app (empty when it would upload)."""
    problems: list[AppProblem] = []
    manifest = _read_json(app_dir / "manifest.json", problems, "manifest.json")
    if manifest is not None:
        for key in ("name", "author", "defaultLocale", "location", "version", "frameworkVersion"):
            if not manifest.get(key):
                problems.append(AppProblem("manifest.json", f"{key} is required"))
        author = manifest.get("author")
        if isinstance(author, dict) and not (author.get("name") and author.get("email")):
            problems.append(AppProblem("manifest.json", "author needs a name and an email"))
        sidebar = (manifest.get("location") or {}).get("support", {}).get("ticket_sidebar")
        url = sidebar.get("url") if isinstance(sidebar, dict) else sidebar
        if not isinstance(url, str):
            problems.append(AppProblem("manifest.json", "location.support.ticket_sidebar needs a url"))
        elif not (app_dir / url).is_file():
            problems.append(AppProblem("manifest.json", f"ticket_sidebar url {url} does not exist"))
        secure = [p.get("name") for p in manifest.get("parameters", []) if p.get("secure")]
        if secure and not manifest.get("domainWhitelist"):
            problems.append(AppProblem("manifest.json", f"secure settings {secure} need a domainWhitelist"))
        locale = manifest.get("defaultLocale") or "en"
        translations = _read_json(
            app_dir / "translations" / f"{locale}.json", problems, f"translations/{locale}.json"
        )
        if translations is not None and not (translations.get("app") or {}).get("name"):
            problems.append(AppProblem(f"translations/{locale}.json", "app.name is required"))
    for name, expected in LOGOS.items():
        path = app_dir / name
        if not path.is_file():
            problems.append(AppProblem(name, f"missing (a {expected[0]}×{expected[1]} PNG)"))
            continue
        size = png_size(path.read_bytes())
        if size is None:
            problems.append(AppProblem(name, "not a PNG"))
        elif size != expected:
            problems.append(AppProblem(name, f"is {size[0]}×{size[1]}, must be {expected[0]}×{expected[1]}"))
    return problems


def _service_host(service_url: str) -> str:
    parts = urlsplit(service_url)
    if parts.scheme != "https" or not parts.hostname:
        raise UsageError(
            f"--service-url must be an https:// URL with a host (Zendesk sends secure settings only "
            f"over https), got {service_url!r}"
        )
    if parts.username or parts.password or parts.query or parts.fragment:
        raise UsageError("--service-url must not carry credentials, a query or a fragment")
    return parts.hostname


def package_app(service_url: str, out: Path, app_dir: Path = APP_DIR) -> Path:
    """Write the upload zip for a service at ``service_url``; raises UsageError on any problem."""
    host = _service_host(service_url)
    problems = check_app(app_dir)
    if problems:
        raise UsageError("the Zendesk app is not ready to upload:\n" + "\n".join(f"  {p}" for p in problems))
    manifest = json.loads((app_dir / "manifest.json").read_text(encoding="utf-8"))
    manifest["domainWhitelist"] = [host]
    for parameter in manifest.get("parameters", []):
        if parameter.get("name") == "service_url":
            parameter["default"] = service_url.rstrip("/")
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(manifest, indent=2) + "\n")
        for top in PACKAGED[1:]:
            for path in sorted((app_dir / top).rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(app_dir).as_posix())
    return out
