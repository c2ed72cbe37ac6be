"""A per-snapshot folder (population figures, key index): written whole beside the old one, then
swapped in, with a manifest that says what it was built from.

Tenant runs read these folders while a new one may be written, and a build can be killed at any
line: readers must see the previous folder or the new one, never a mix, and a reader must be able
to tell a folder built under other definitions from a current one without opening its data.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

MANIFEST = "manifest.json"


def start(out_dir: Path) -> Path:
    """An empty work folder beside ``out_dir``, private to this process.

    Work folders of builds that were killed (their process is gone) are removed first: a
    10M-profile key index leaves gigabytes behind, and nothing else would ever delete them.
    """
    _remove_abandoned(out_dir)
    tmp = out_dir.with_name(f".{out_dir.name}.{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    return tmp


def _remove_abandoned(out_dir: Path) -> None:
    """Remove ``.<name>.<pid>`` and ``.<name>.old.<pid>`` folders whose process no longer runs."""
    prefix = f".{out_dir.name}."
    if not out_dir.parent.is_dir():
        return
    for folder in out_dir.parent.iterdir():
        pid = folder.name[len(prefix):].removeprefix("old.")
        if folder.name.startswith(prefix) and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: alive, and not ours to judge
    return True


def finish(tmp: Path, out_dir: Path, manifest: dict) -> None:
    """Write the manifest last, then replace ``out_dir`` with ``tmp`` in two renames."""
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2))
    old = out_dir.with_name(f".{out_dir.name}.old.{os.getpid()}")
    if out_dir.exists():
        os.replace(out_dir, old)
    os.replace(tmp, out_dir)
    shutil.rmtree(old, ignore_errors=True)


def read_manifest(out_dir: Path | None) -> dict | None:
    """The folder's manifest, or None when there is no readable one (never built, or killed)."""
    if out_dir is None:
        return None
    try:
        return json.loads((Path(out_dir) / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
