"""Per-snapshot folders (population figures, key index) after a build is killed: the previous
folder stays whole, and the killed build's work folder does not stay behind for ever."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from connect_pipeline.linkage import snapshot_folder

_BUILDER = """
import sys, time
from pathlib import Path
from connect_pipeline.linkage import snapshot_folder
tmp = snapshot_folder.start(Path(sys.argv[1]))
(tmp / "rows.parquet").write_bytes(b"x" * 1000)
print(tmp, flush=True)
time.sleep(600)
"""


def _builder(out_dir: Path) -> tuple[subprocess.Popen, Path]:
    """A build in another process, stopped half-way: its work folder written, not swapped in."""
    proc = subprocess.Popen([sys.executable, "-c", _BUILDER, str(out_dir)], stdout=subprocess.PIPE, text=True)
    return proc, Path(proc.stdout.readline().strip())


@pytest.mark.slow  # kills a whole build process: `make test-fast` leaves it out
def test_a_killed_build_leaves_the_old_folder_and_its_work_folder_is_removed_by_the_next(tmp_path):
    out = tmp_path / "key_index"
    first = snapshot_folder.start(out)
    (first / "rows.parquet").write_bytes(b"old")
    snapshot_folder.finish(first, out, {"built": 1})

    killed, killed_tmp = _builder(out)
    running, running_tmp = _builder(out)
    try:
        killed.send_signal(signal.SIGKILL)
        killed.wait()
        assert killed_tmp.is_dir() and running_tmp.is_dir()
        assert snapshot_folder.read_manifest(out) == {"built": 1}
        assert (out / "rows.parquet").read_bytes() == b"old"

        tmp = snapshot_folder.start(out)
        assert not killed_tmp.exists()  # its process is gone: nobody else would delete it
        assert running_tmp.is_dir()  # a build still under way keeps its folder
        (tmp / "rows.parquet").write_bytes(b"new")
        snapshot_folder.finish(tmp, out, {"built": 2})
    finally:
        running.kill()
        running.wait()
    assert json.loads((out / snapshot_folder.MANIFEST).read_text()) == {"built": 2}
    assert (out / "rows.parquet").read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["key_index", running_tmp.name])
