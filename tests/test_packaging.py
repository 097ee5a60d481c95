"""The wheel: built with ``python -m build`` from a copy of the source tree, it holds the
code, the data files and the ``py.typed`` marker, and works when installed on its own.

The build runs without isolation (``--no-isolation``: the build backend of the test
environment, setuptools and wheel from the ``test`` extra) so it needs no network. The
installed check uses ``pip install --no-deps --target``: the wheel's files alone, with the
dependencies of the running environment, not a full virtual environment (that is CI's
job, see README).
"""

from __future__ import annotations

import email
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from .conftest import ROOT

SOURCE_FILES = ("pyproject.toml", "setup.cfg", "README.md")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in SOURCE_FILES:
        shutil.copy2(ROOT / name, src / name)
    # a copy, so that the build's build/ and *.egg-info never land in the checkout
    shutil.copytree(
        ROOT / "listcare", src / "listcare", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    out = tmp / "dist"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(out),
            str(src),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    # setuptools' warning when data folders are not declared as (namespace) packages
    assert "would be ignored" not in proc.stdout + proc.stderr
    wheels = list(out.glob("listcare-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope="module")
def names(wheel) -> set[str]:
    with zipfile.ZipFile(wheel) as zf:
        return set(zf.namelist())


def _source_files(pattern: str) -> set[str]:
    return {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "listcare").glob(pattern)
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_wheel_has_the_marker_and_the_data_files(names):
    assert "listcare/py.typed" in names
    lists = _source_files("data/*.txt")
    assert "listcare/data/tlds.txt" in lists and len(lists) >= 5
    assert lists <= names, sorted(lists - names)
    examples = _source_files("data/examples/**/*")
    assert {"listcare/data/examples/contacts.csv", "listcare/data/examples/postfix.log"} <= examples
    assert examples <= names, sorted(examples - names)


def test_wheel_has_every_module_and_nothing_else(names):
    modules = _source_files("**/*.py")
    assert "listcare/accessor.py" in modules and "listcare/cli.py" in modules
    assert modules <= names, sorted(modules - names)
    stray = [n for n in names if not n.startswith(("listcare/", "listcare-"))]
    assert stray == []  # no tests/, notebooks/, benchmarks/
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_wheel_metadata_and_entry_point(wheel, names):
    with zipfile.ZipFile(wheel) as zf:
        info = next(n for n in names if n.endswith(".dist-info/METADATA"))
        meta = email.message_from_bytes(zf.read(info))
        entry = zf.read(next(n for n in names if n.endswith(".dist-info/entry_points.txt")))
    import listcare

    assert meta["Name"] == "listcare" and meta["Version"] == listcare.__version__
    requires = " ".join(meta.get_all("Requires-Dist"))
    for dep in ("pandas", "email-validator", "dnspython", "matplotlib", "click"):
        assert dep in requires
    assert "listcare = listcare.cli:main" in entry.decode()


def test_installed_wheel_runs_on_its_own(wheel, tmp_path):
    target = tmp_path / "site"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--disable-pip-version-check",
            "--target",
            str(target),
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    env = {**os.environ, "PYTHONPATH": str(target), "MPLBACKEND": "Agg"}
    code = (
        "import listcare, pandas as pd\n"
        "print(listcare.__file__)\n"
        "df = listcare.read_contacts(listcare.example_path('contacts.csv'))\n"
        "r = df.listcare.validate(check_dns=False)\n"
        "print(len(df), int((r['reason'] == 'typo').sum() > 0))\n"
        "from importlib import resources\n"
        "print(resources.files('listcare').joinpath('py.typed').is_file())\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    where, counts, typed = run.stdout.splitlines()
    # the installed copy, not the checkout
    assert Path(where).resolve().is_relative_to(target.resolve()), where
    assert counts == "3000 1"
    assert typed == "True"
    script = target / "bin" / "listcare"
    assert script.is_file()
    helped = subprocess.run(
        [sys.executable, str(script), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
    )
    assert helped.returncode == 0, helped.stderr[-3000:]
    assert "Usage" in helped.stdout and "listcare" in helped.stdout
