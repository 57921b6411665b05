"""The built wheel works on its own: installed (not editable) into a fresh virtual
environment, ``crm`` runs from any directory, away from the source tree, and finds the
meta-schemas that ship inside it."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.support import REPO_ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"),
            *(str(REPO_ROOT), "-w", str(work)),
        ],
        check=True,
    )
    (wheel,) = work.glob("crm_engine-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "engine/_bundled/schemas/entity.schema.json" in names
    assert not any(n.startswith("tests/") for n in names)
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", str(wheel)], check=True
    )
    # the dependencies come from this environment's site-packages, added as a plain path:
    # its .pth files (among them the editable install of this checkout) are not processed
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(purelib, "zz_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv


def run(venv: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(cwd)}
    return subprocess.run([str(venv / "bin" / "crm"), *args], cwd=cwd, env=env, capture_output=True, text=True)


def test_installed_engine_is_the_wheel_not_the_checkout(installed: Path, tmp_path: Path) -> None:
    out = subprocess.run(
        [
            str(installed / "bin" / "python"),
            "-c",
            "import engine, engine.resources as r;print(engine.__file__); print(r.resource_dir('schemas'))",
        ],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert all(line.startswith(str(installed)) for line in out), out


def test_commands_work_away_from_the_source_tree(installed: Path, tmp_path: Path) -> None:
    bundle = tmp_path / "mycrm"
    bundle.mkdir()
    (bundle / "bundle.json").write_text(json.dumps({"schema_version": 1, "kind": "bundle", "name": "mycrm"}))
    (bundle / "account.json").write_text(
        json.dumps(
            {
                "schema_version": 1,
                "kind": "entity",
                "name": "account",
                "fields": {
                    "name": {"type": "string", "required": True},
                    "tier": {"type": "enum", "choices": ["S", "A"]},
                },
            }
        )
    )
    assert run(installed, tmp_path, "schema", "validate", "mycrm").returncode == 0
    applied = run(installed, tmp_path, "schema", "apply", "mycrm")
    assert applied.returncode == 0, applied.stderr
    assert (tmp_path / "crm.db").exists(), "the default database is crm.db in the current directory"
    created = run(
        installed, tmp_path, "record", "create", "account", "--data", '{"name": "Acme", "tier": "S"}', "--json"
    )
    assert json.loads(created.stdout)["name"] == "Acme"
    (tmp_path / "more.csv").write_text("name,tier\nGlobex,A\n")
    assert run(installed, tmp_path, "import", "account", "more.csv").returncode == 0
    listed = json.loads(run(installed, tmp_path, "record", "list", "account", "--json").stdout)
    assert [r["name"] for r in listed["items"]] == ["Acme", "Globex"]
    (bundle / "account.json").write_text("{broken")
    broken = run(installed, tmp_path, "schema", "validate", "mycrm")
    assert broken.returncode == 2 and "Traceback" not in broken.stdout + broken.stderr


_ADMIN_PAGES = """
import re, sys
from engine.runtime import CrmEngine
from engine.web import create_app
with CrmEngine("sqlite:///crm.db") as engine:
    client = create_app({"CRM_ENGINE": engine, "SECRET_KEY": "wheel"}).test_client()
    login = client.get("/admin/login/")
    page = login.get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    signed = client.post("/admin/login/", data={"csrf_token": token, "name": "ada", "password": sys.argv[1]})
    leads = client.get("/admin/records/account/")
    css = client.get("/admin/crm-static/admin.css")
    styled = "crm-chart" in css.get_data(as_text=True)
    print(login.status_code, signed.status_code, leads.status_code, css.status_code, styled)
"""


def test_the_admin_ui_serves_its_templates_and_static_files_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    bundle = tmp_path / "mycrm"
    bundle.mkdir()
    (bundle / "bundle.json").write_text(json.dumps({"schema_version": 1, "kind": "bundle", "name": "mycrm"}))
    (bundle / "account.json").write_text(
        json.dumps({"schema_version": 1, "kind": "entity", "name": "account", "fields": {"name": {"type": "string"}}})
    )
    assert run(installed, tmp_path, "schema", "apply", "mycrm").returncode == 0
    env = {"PATH": f"{installed / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path)}
    created = subprocess.run([str(installed / "bin" / "crm"), "user", "create", "ada", "--role", "admin",
                              "--password-stdin"], cwd=tmp_path, env=env, input="wheel secret\n",
                             capture_output=True, text=True)  # fmt: skip
    assert created.returncode == 0, created.stderr
    pages = subprocess.run([str(installed / "bin" / "python"), "-c", _ADMIN_PAGES, "wheel secret"],
                           cwd=tmp_path, env=env, capture_output=True, text=True)  # fmt: skip
    assert pages.returncode == 0, pages.stderr
    assert pages.stdout.split() == ["200", "302", "200", "200", "True"]
