"""The README documents what the code has: every CLI command and option, every public
name, and the CLI reference examples on the bundled data actually run."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

import listcare
from listcare.cli import main

from .conftest import ROOT

README = (ROOT / "README.md").read_text()
EXAMPLES = ROOT / "listcare" / "data" / "examples"


def section(title: str, level: int = 2) -> str:
    """The text under a heading, up to the next heading of the same or a higher level."""
    marker = "#" * level + " "
    parts = README.split(f"\n{marker}{title}\n", 1)
    assert len(parts) == 2, f"README has no '{marker}{title}' section"
    body = parts[1]
    ends = [body.find(f"\n{'#' * lv} ") for lv in range(1, level + 1)]
    ends = [e for e in ends if e >= 0]
    return body[: min(ends)] if ends else body


def sh_lines(text: str) -> list[str]:
    """Command lines of the ```sh blocks in *text* (backslash continuations joined)."""
    lines = []
    for block in re.findall(r"```sh\n(.*?)\n```", text, flags=re.S):
        lines += [ln.strip() for ln in block.replace("\\\n", " ").splitlines() if ln.strip()]
    return lines


def command_section(name: str) -> str:
    return section(f"`listcare {name}`", level=3)


COMMANDS = sorted(main.commands)


def test_the_cli_has_commands():
    assert {"validate", "bounces", "clean", "plan"} <= set(COMMANDS)


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_is_in_the_cli_reference_with_an_example(name):
    assert f"### `listcare {name}`" in section("CLI reference")
    examples = [ln for ln in sh_lines(command_section(name)) if ln.startswith(f"listcare {name} ")]
    assert examples, f"no 'listcare {name} ...' example in the README's CLI reference"


@pytest.mark.parametrize("name", COMMANDS)
def test_every_option_is_documented_and_every_documented_option_exists(name):
    cmd = main.commands[name]
    text = command_section(name)
    table = "\n".join(ln for ln in text.splitlines() if ln.startswith("|"))
    real = set()
    for param in cmd.params:
        if isinstance(param, click.Option):
            real.update(param.opts + param.secondary_opts)
            longest = max(param.opts, key=len)
            assert f"`{longest}" in table or f", `{longest}" in table, (name, longest)
        else:
            assert param.human_readable_name in table, (name, param.human_readable_name)
    documented = set(re.findall(r"`(--?[a-z][a-z-]*)", table))
    assert documented <= real, (name, documented - real)
    # the examples use only real options too
    for line in sh_lines(text):
        used = {tok.split("=", 1)[0] for tok in shlex.split(line) if tok.startswith("-")}
        assert used <= real | {"-h", "--help"}, (line, used - real)


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_help_has_an_example(name):
    result = CliRunner().invoke(main, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output
    assert f"listcare {name} " in result.output.split("Example", 1)[1]


def test_the_group_help_lists_every_command_and_an_example():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    assert "Example" in result.output
    for name in COMMANDS:
        assert re.search(rf"^\s+{name}\s", result.output, flags=re.M), name


def test_every_public_name_is_in_the_api_overview():
    api = section("API overview")
    missing = [n for n in listcare.__all__ if not re.search(rf"(?<![\w.]){re.escape(n)}\b", api)
               and f"listcare.{n}" not in api]
    assert not missing, f"public names not in the README's API overview: {missing}"


def test_the_api_overview_points_to_every_notebook():
    api = section("API overview")
    notebooks = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert len(notebooks) >= 5
    for name in notebooks:
        assert f"`{name}`" in api, name


def test_the_exit_code_table_matches_the_exceptions():
    from listcare import exceptions

    table = section("Exit codes", level=3)
    codes = {int(c) for c in re.findall(r"^\| (\d+) \|", table, flags=re.M)}
    for name in exceptions.__all__:
        obj = getattr(exceptions, name)
        if isinstance(obj, type):
            assert obj.exit_code in codes, (name, obj.exit_code)
    assert {0, 1, 2} <= codes


def test_the_readme_is_in_the_order_a_reader_needs():
    heads = re.findall(r"^## (.+)$", README, flags=re.M)
    want = ["Quick start", "Tutorial", "API overview", "CLI reference", "Troubleshooting",
            "Benchmarks", "Development"]
    assert [h for h in heads if h in want] == want
    tutorial = re.findall(r"^### (.+)$", section("Tutorial"), flags=re.M)
    path = ["Validation", "Bounces", "Decay and bounce rate", "The nightly clean job",
            "Cadence planning", "Lead funnel"]
    assert [h for h in tutorial if h in path] == path


def test_the_readme_images_exist():
    for path in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", README):
        assert (ROOT / path).is_file(), path


def _bundled_examples() -> list[str]:
    """The first example of each command in the CLI reference (they use the bundled data)."""
    out = []
    for name in COMMANDS:
        lines = [ln for ln in sh_lines(command_section(name)) if ln.startswith(f"listcare {name} ")]
        assert "listcare/data/examples/" in lines[0], f"the first {name} example should use the bundled data"
        out.append(lines[0])
    return out


@pytest.mark.parametrize("line", _bundled_examples(), ids=lambda ln: ln.split()[1])
def test_the_cli_reference_examples_run(line, tmp_path):
    # paths rewritten to the checkout's example data; outputs land in tmp_path
    args = [a.replace("listcare/data/examples/", f"{EXAMPLES}/") for a in shlex.split(line)]
    proc = subprocess.run(
        [sys.executable, "-m", "listcare.cli", *args[1:]], cwd=tmp_path,
        capture_output=True, text=True, timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    written = {p.name for p in tmp_path.rglob("*") if p.is_file()}
    if "--dry-run" in args:
        assert not written, written  # a dry run changes nothing
        return
    for i, a in enumerate(args):
        if a in ("-o", "--output", "--ics", "--excluded"):
            target = tmp_path / args[i + 1]
            assert target.is_file() and target.stat().st_size > 0, a


def test_the_api_overview_examples_run(tmp_path):
    """The API overview's Python blocks, in order, as one script (example data, no DNS)."""
    blocks = re.findall(r"```python\n(.*?)\n```", section("API overview"), flags=re.S)
    assert len(blocks) >= 8
    script = "import listcare\n" + "\n".join(blocks) + "\nprint('done', len(contacts), len(events))\n"
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True,
        timeout=240, env={**os.environ, "MPLBACKEND": "Agg"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "done 3000" in proc.stdout
    for name in ("contacts-copy.csv", "decay.png", "plan.ics", "listcare.db", "out/report.json"):
        assert (tmp_path / name).stat().st_size > 0, name


def test_the_readme_links_to_sections_that_exist():
    def slug(heading: str) -> str:  # GitHub's anchor for a heading
        return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")

    anchors = {slug(h) for h in re.findall(r"^#+ (.+)$", README, flags=re.M)}
    links = set(re.findall(r"\]\(#([^)]+)\)", README))
    assert links and links <= anchors, links - anchors


def test_every_listcare_command_line_in_the_readme_uses_real_options():
    """Tutorial, quick start and cron lines too: a renamed option must not linger in the docs."""
    lines = []
    for block in re.findall(r"```(?:sh|cron)\n(.*?)\n```", README, flags=re.S):
        for ln in block.replace("\\\n", " ").splitlines():
            if "listcare " in ln:
                lines.append(ln[ln.index("listcare "):].split("&&")[0])
    assert len(lines) >= 10
    for line in lines:
        args = shlex.split(line)
        if args[1].startswith("-"):
            continue
        assert args[1] in main.commands, line
        cmd = main.commands[args[1]]
        real = {o for p in cmd.params if isinstance(p, click.Option) for o in p.opts + p.secondary_opts}
        used = {a.split("=", 1)[0] for a in args[2:] if a.startswith("-")}
        assert used <= real | {"-h", "--help"}, (line, used - real)
