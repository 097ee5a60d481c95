"""listcare.atomic: old file or new file, never half of one; no temp files left behind."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap

import pytest

from listcare.atomic import atomic_write, atomic_write_bytes, atomic_write_text
from listcare.exceptions import OutputError

from .conftest import ROOT


def _others(folder, keep):
    return sorted(p.name for p in folder.iterdir() if p.name != keep)


def test_writes_new_file_with_umask_permissions(tmp_path):
    target = tmp_path / "out.csv"
    with atomic_write(target, encoding="utf-8", newline="") as f:
        f.write("email\r\nä@x.de\r\n")
    assert target.read_bytes() == "email\r\nä@x.de\r\n".encode()
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
    assert _others(tmp_path, "out.csv") == []


def test_replace_keeps_mode_of_old_file_and_private_is_0600(tmp_path):
    target = tmp_path / "state.txt"
    target.write_text("old")
    target.chmod(0o640)
    atomic_write_text(target, "new")
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    atomic_write_bytes(target, b"secret", private=True)
    assert target.read_bytes() == b"secret"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    fresh = tmp_path / "fresh.db"
    atomic_write_bytes(fresh, b"x", private=True)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600


def test_exception_leaves_old_file_and_no_temp(tmp_path):
    target = tmp_path / "clean.csv"
    target.write_text("old content\n")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_write(target) as f:
            f.write("half of the new")
            f.flush()
            raise RuntimeError("boom")
    assert target.read_text() == "old content\n"
    assert _others(tmp_path, "clean.csv") == []


def test_encoding_error_leaves_old_file(tmp_path):
    target = tmp_path / "de.csv"
    target.write_bytes("Müller\n".encode("cp1252"))
    with pytest.raises(UnicodeEncodeError):
        atomic_write_text(target, "Müller\n→\n", encoding="cp1252")
    assert target.read_bytes() == "Müller\n".encode("cp1252")
    assert _others(tmp_path, "de.csv") == []


def test_missing_folder_and_folder_target_are_clear_errors(tmp_path):
    # output errors (exit code 73), not input errors (66): the CLI tells them apart
    with pytest.raises(OutputError, match="does not exist"):
        atomic_write_text(tmp_path / "nope" / "x.csv", "x")
    with pytest.raises(OutputError, match="is a folder"):
        atomic_write_text(tmp_path, "x")
    assert OutputError.exit_code == 73


def test_the_cli_names_an_output_folder_it_cannot_make(tmp_path):
    from click.testing import CliRunner

    from listcare.cli import main

    (tmp_path / "afile").write_text("a file where a folder should be")
    (tmp_path / "c.csv").write_text("email\na@b.de\n")
    res = CliRunner().invoke(
        main, ["validate", str(tmp_path / "c.csv"), "-o", str(tmp_path / "afile/x.csv"), "--no-dns"]
    )
    assert res.exit_code == 73, res.output
    assert "Cannot create the folder" in res.output and "Traceback" not in res.output


def test_bad_mode_is_refused(tmp_path):
    with pytest.raises(ValueError):
        with atomic_write(tmp_path / "x", "a"):
            pass
    with pytest.raises(ValueError):
        with atomic_write(tmp_path / "x", "wb", encoding="utf-8"):
            pass


def test_sigkill_mid_write_leaves_old_file_intact(tmp_path):
    """A real crash: a subprocess killed with SIGKILL while it is writing."""
    target = tmp_path / "clean.csv"
    old = b"email\nold@example.org\n" * 100
    target.write_bytes(old)
    script = textwrap.dedent(
        f"""
        import sys, time
        from listcare.atomic import atomic_write
        with atomic_write({str(target)!r}, "wb") as f:
            f.write(b"email\\n" + b"new@example.org\\n" * 50000)
            f.flush()
            print("written", flush=True)
            time.sleep(60)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, cwd=ROOT, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "written"
        # the half-done write is on disk, under a temporary name only
        temps = _others(tmp_path, "clean.csv")
        assert len(temps) == 1 and temps[0].startswith(".clean.csv.")
        assert (tmp_path / temps[0]).stat().st_size > len(old)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    assert target.read_bytes() == old
    # a later successful write replaces the file as usual
    atomic_write_bytes(target, b"email\nnext@example.org\n")
    assert target.read_bytes() == b"email\nnext@example.org\n"


def test_an_error_while_writing_is_an_output_error_and_the_old_file_stays(tmp_path):
    target = tmp_path / "x.csv"
    target.write_text("old")
    with pytest.raises(OutputError, match="No space left on device.*unchanged"):
        with atomic_write(target, "w") as f:
            f.write("new, half")
            raise OSError(28, "No space left on device")  # what a full disk raises
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.csv"]  # no temporary file left
