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
