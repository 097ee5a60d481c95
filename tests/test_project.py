"""The project's promises about itself: README commands, CI, exceptions, schema."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from listcare import exceptions, schema

from .conftest import ROOT


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    quick = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)\n```", quick, flags=re.S)


def test_readme_has_two_quick_start_commands():
    cmds = readme_commands()
    assert len(cmds) == 2, cmds
    assert "listcare " in cmds[0]
    assert "pytest" in cmds[1]


def test_ci_runs_exactly_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    test_cmd = readme_commands()[1].strip()
    assert test_cmd in [line.strip() for line in ci]


def test_exception_tree_is_rooted_in_valueerror():
    for name in exceptions.__all__:
        obj = getattr(exceptions, name)
        if isinstance(obj, type):
            assert issubclass(obj, exceptions.ListcareError)
            assert issubclass(obj, ValueError)
            assert 0 < obj.exit_code < 128


def test_require_columns_names_what_is_missing():
    df = pd.DataFrame({"Name": ["a"], "E-Mail": ["x@y.de"]})
    schema.require_columns(df, ["Name"])
    with pytest.raises(exceptions.ColumnError) as err:
        schema.require_columns(df, ["email", "Name", "acquired_at"], what="contact list")
    assert err.value.missing == ("email", "acquired_at")
    assert "'email'" in str(err.value) and "'acquired_at'" in str(err.value)
    assert "E-Mail" in str(err.value)


def test_empty_frame_and_coerce_give_schema_dtypes():
    empty = schema.empty_frame(schema.EVENT_COLUMNS)
    assert list(empty.columns) == list(schema.EVENT_COLUMNS)
    assert str(empty["timestamp"].dtype) == "datetime64[ns, UTC]"
    df = pd.DataFrame({"recipient": ["a@b.de"], "timestamp": ["2026-01-02T03:04:05Z"], "position": [3]})
    out = schema.coerce(df, schema.EVENT_COLUMNS)
    assert list(out.columns) == list(schema.EVENT_COLUMNS)
    assert out.loc[0, "timestamp"] == pd.Timestamp("2026-01-02 03:04:05", tz="UTC")
    assert out["position"].dtype == "Int64"
    assert df.columns.tolist() == ["recipient", "timestamp", "position"]  # input untouched


def test_lazy_exports_resolve():
    import listcare

    assert listcare.DecayModel.__name__ == "DecayModel"
    with pytest.raises(AttributeError):
        listcare.no_such_name  # noqa: B018


def test_readme_main_job_runs_on_the_bundled_examples(tmp_path):
    """The quick start's first command, as a real process (outputs redirected to tmp)."""
    import json
    import shlex
    import subprocess
    import sys

    cmd = readme_commands()[0].split("&&", 1)[1].strip()
    args = shlex.split(cmd)
    assert args[:2] == ["listcare", "clean"]
    args = [a.replace("out/", f"{tmp_path}/") for a in args[1:]]
    proc = subprocess.run(
        [sys.executable, "-m", "listcare.cli", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    from listcare import read_contacts

    n_contacts = len(read_contacts(ROOT / "listcare/data/examples/contacts.csv"))
    outcomes = report["outcomes"]
    assert sum(outcomes[k] for k in ("clean", "suppressed", "reconfirm")) == n_contacts
    for name in ("clean.csv", "suppressed.csv", "reconfirm.csv", "report.md", "decay.png"):
        assert (tmp_path / name).stat().st_size > 0
