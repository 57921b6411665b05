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
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", str(REPO_ROOT), "-w", str(work)],
        check=True,
    )
    (wheel,) = work.glob("crm_engine-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "engine/_bundled/schemas/entity.schema.json" in names
    assert not any(n.startswith("tests/") for n in names)
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", str(wheel)], check=True)
    # the dependencies come from this environment's site-packages, added as a plain path:
    # its .pth files (among them the editable install of this checkout) are not processed
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    Path(purelib, "zz_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv


def run(venv: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(cwd)}
    return subprocess.run([str(venv / "bin" / "crm"), *args], cwd=cwd, env=env, capture_output=True, text=True)


def test_installed_engine_is_the_wheel_not_the_checkout(installed: Path, tmp_path: Path) -> None:
    out = subprocess.run([str(installed / "bin" / "python"), "-c", "import engine, engine.resources as r;"
                          "print(engine.__file__); print(r.resource_dir('schemas'))"],
                         cwd=tmp_path, check=True, capture_output=True, text=True).stdout.split()
    assert all(line.startswith(str(installed)) for line in out), out


def test_commands_work_away_from_the_source_tree(installed: Path, tmp_path: Path) -> None:
    bundle = tmp_path / "mycrm"
    bundle.mkdir()
    (bundle / "bundle.json").write_text(json.dumps({"schema_version": 1, "kind": "bundle", "name": "mycrm"}))
    (bundle / "account.json").write_text(json.dumps({
        "schema_version": 1, "kind": "entity", "name": "account",
        "fields": {"name": {"type": "string", "required": True}, "tier": {"type": "enum", "choices": ["S", "A"]}}}))
    assert run(installed, tmp_path, "schema", "validate", "mycrm").returncode == 0
    applied = run(installed, tmp_path, "schema", "apply", "mycrm")
    assert applied.returncode == 0, applied.stderr
    assert (tmp_path / "crm.db").exists(), "the default database is crm.db in the current directory"
    created = run(installed, tmp_path, "record", "create", "account", "--data", '{"name": "Acme", "tier": "S"}', "--json")
    assert json.loads(created.stdout)["name"] == "Acme"
    (tmp_path / "more.csv").write_text("name,tier\nGlobex,A\n")
    assert run(installed, tmp_path, "import", "account", "more.csv").returncode == 0
    listed = json.loads(run(installed, tmp_path, "record", "list", "account", "--json").stdout)
    assert [r["name"] for r in listed["items"]] == ["Acme", "Globex"]
    (bundle / "account.json").write_text("{broken")
    broken = run(installed, tmp_path, "schema", "validate", "mycrm")
    assert broken.returncode == 2 and "Traceback" not in broken.stdout + broken.stderr
