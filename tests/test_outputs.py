"""Output paths are written as a shell redirect would (issue 15): a device or FIFO is written to, a symlink
is followed, and only a regular file (or a new one) is replaced through a temporary file.

Regression: ``export -o /dev/null`` run as root replaced the null device with a plain file. These tests
never touch a real device: they make a copy of the null device (``mknod``) inside a temporary folder,
a FIFO with a reader thread, and symlinks, and check that each is still what it was and got the bytes.
"""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import pytest

from tests.handmade import pool_known
from tracer import outputs
from tracer.cli import main
from tracer.errors import TracerError
from tracer.recording.format import check_recording_path
from tracer.run.headless import move_trailer_last
from tracer.run.shipped import SECTION, write_readme


@pytest.fixture
def null_copy(tmp_path: Path) -> Path:
    """A character device like /dev/null (1, 3), made inside ``tmp_path``: writes to it go nowhere."""
    dev = tmp_path / "null"
    try:
        os.mknod(dev, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except (PermissionError, AttributeError, OSError) as exc:
        pytest.skip(f"cannot make a device node here ({exc}): needs root on Linux")
    return dev


def still_the_device(dev: Path) -> bool:
    st = dev.lstat()
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3)


class FifoReader:
    """A FIFO in ``folder`` and a thread reading everything written to it."""

    def __init__(self, folder: Path) -> None:
        if not hasattr(os, "mkfifo"):
            pytest.skip("no FIFOs on this platform")
        self.path = folder / "pipe"
        os.mkfifo(self.path)
        self.data = b""
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        with open(self.path, "rb") as f:  # waits for the writer, as the writer's open waits for us
            self.data = f.read()

    def received(self) -> bytes:
        self.thread.join(10)
        assert not self.thread.is_alive(), "the FIFO's reader never saw the writer close"
        assert stat.S_ISFIFO(self.path.lstat().st_mode), "the FIFO was replaced"
        return self.data


@pytest.fixture
def known(tmp_path: Path) -> Path:
    return pool_known().write(tmp_path / "known.jsonl")


# ------------------------------------------------------------------ export
def test_export_into_a_device_writes_to_it_and_leaves_it_a_device(known, null_copy, capsys):
    assert main(["export", str(known), "-f", "csv", "-o", str(null_copy)]) == 0
    assert still_the_device(null_copy)
    assert f"wrote {null_copy}" in capsys.readouterr().out


def test_export_into_a_fifo_reaches_its_reader(known, tmp_path, capsys):
    fifo = FifoReader(tmp_path)
    assert main(["export", str(known), "-f", "csv", "-o", str(fifo.path)]) == 0
    data = fifo.received().decode()
    assert data.startswith("time_us,duration_us,kind,") and data.count("\n") > 5


def test_export_through_a_symlink_writes_its_target_and_keeps_the_link(known, tmp_path, capsys):
    target = tmp_path / "real.csv"
    target.write_text("old\n")
    target.chmod(0o640)
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    assert main(["export", str(known), "-f", "csv", "-o", str(link)]) == 0
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text().startswith("time_us,")
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # the file's permissions, as a redirect keeps them


def test_export_through_a_dangling_symlink_creates_its_target(known, tmp_path, capsys):
    link = tmp_path / "link.md"
    link.symlink_to(tmp_path / "made.md")
    assert main(["export", str(known), "-f", "md", "-o", str(link)]) == 0
    assert link.is_symlink() and (tmp_path / "made.md").read_text().startswith("#")


def test_export_into_a_symlink_to_a_device_leaves_both(known, null_copy, tmp_path, capsys):
    link = tmp_path / "out"
    link.symlink_to(null_copy)
    assert main(["export", str(known), "-f", "chrome", "-o", str(link)]) == 0
    assert link.is_symlink() and still_the_device(null_copy)


def test_a_failed_export_leaves_a_regular_file_as_it_was(tmp_path):
    out = tmp_path / "out.csv"
    out.write_text("precious\n")
    with pytest.raises(RuntimeError), outputs.output_file(str(out)) as f:
        f.write("half")
        raise RuntimeError("the export failed halfway")
    assert out.read_text() == "precious\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]  # no temporary file left


def test_a_folder_or_a_missing_folder_is_one_line(known, tmp_path, capsys):
    assert main(["export", str(known), "-f", "csv", "-o", str(tmp_path)]) == 2
    assert main(["export", str(known), "-f", "csv", "-o", str(tmp_path / "no" / "x.csv")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"error: cannot write {tmp_path}: it is a folder"
    assert err[1].startswith(f"error: cannot write {tmp_path / 'no' / 'x.csv'}: folder ")


# ------------------------------------------------------------------ bench --json
def test_bench_json_into_a_fifo_and_a_device(tmp_path, null_copy, capsys):
    fifo = FifoReader(tmp_path)
    argv = ["bench", "--models", "single", "--connections", "1", "--modes", "keep-alive", "--rounds", "1",
            "--duration", "0.1", "--capacity", "100", "--wrk", "off"]
    assert main([*argv, "--json", str(fifo.path)]) == 0
    assert "single" in json.dumps(json.loads(fifo.received()))
    assert main([*argv, "--json", str(null_copy)]) == 0
    assert still_the_device(null_copy)


def test_bench_json_into_a_missing_folder_fails_before_measuring(tmp_path, capsys):
    assert main(["bench", "--models", "single", "--json", str(tmp_path / "no" / "b.json")]) == 2
    std = capsys.readouterr()
    assert "folder" in std.err and "runs of" not in std.err  # nothing measured first


# ------------------------------------------------------------------ recordings
def test_a_recording_is_refused_on_a_device_or_fifo(null_copy, tmp_path):
    os.mkfifo(tmp_path / "pipe")
    for path in (null_copy, tmp_path / "pipe"):
        with pytest.raises(TracerError, match="not a regular file"):
            check_recording_path(str(path))
    assert still_the_device(null_copy)


def test_a_recording_through_a_symlink_to_a_device_is_refused(null_copy, tmp_path):
    link = tmp_path / "rec.jsonl"
    link.symlink_to(null_copy)
    with pytest.raises(TracerError, match="not a regular file"):
        check_recording_path(str(link))


def test_move_trailer_last_writes_a_symlinks_target(tmp_path):
    target = tmp_path / "real.jsonl"
    target.write_text('{"format": "sockscope"}\n{"end": true, "events": 1}\n{"t": 1}\n')
    link = tmp_path / "rec.jsonl"
    link.symlink_to(target)
    move_trailer_last(str(link))
    assert link.is_symlink()
    assert target.read_text().splitlines()[-1] == '{"end": true, "events": 1}'


def test_server_recording_through_a_symlink_keeps_the_link(tmp_path, capsys):
    target = tmp_path / "real.jsonl"
    link = tmp_path / "rec.jsonl"
    link.symlink_to(target)
    assert main(["record", "single", "--scenario", "burst", "--set", "clients=2", "-o", str(link)]) == 0
    assert link.is_symlink() and main(["check", str(target)]) == 0


def test_regenerate_readme_through_a_symlink(tmp_path):
    target = tmp_path / "README.real.md"
    target.write_text("# Recordings\n\nours\n")
    link = tmp_path / "README.md"
    link.symlink_to(target)
    write_readme(str(link))
    assert link.is_symlink() and SECTION in target.read_text() and "ours" in target.read_text()


def test_regenerate_readme_into_a_device(null_copy):
    write_readme(str(null_copy))
    assert still_the_device(null_copy)
