"""Parse untrusted PDFs in child processes that the parent can kill.

Why a child process: pypdf is pure Python and has had a long run of denial-of-service bugs
(infinite loops, memory blow-ups, a late-2026 advisory on encrypted files). A thread cannot be
stopped and an in-process memory cap would take the whole run down, so each batch of files is
parsed in a fresh child started through the "forkserver" context (or "spawn" where there is no
fork server): no inherited tenant state, no forked locks. The child runs under ``RLIMIT_AS`` and
``RLIMIT_CPU`` while the parent enforces a wall-clock deadline.

Protocol (child -> parent over a Pipe, in file order):
    ("ready",)                      imports done, limits set; the first file's clock starts now
    ("result", index, payload)      one file finished (ok or skipped); the next one starts now
    ("stop",)                       the child quits early on purpose (after a MemoryError)
    ("done",)                       the whole batch is finished
Because results arrive in order, the parent always knows which file is in progress: the first of
the batch without a result. When the child hangs past the deadline the parent kills it; when it
dies, the parent blames that one file (timeout / memory / corrupt) and starts a new child for the
rest of the batch, so one hostile file never loses its neighbours.

Memory: ``memory_mb`` is the address-space *headroom* a child may use for parsing, on top of the
interpreter's footprint measured once imports are done. A flat cap would depend on what the host
process imports (a spawn child re-imports the parent's ``__main__``: pytest, the Dagster CLI…),
which varies by hundreds of MiB of mapped address space between hosts.

Time: each file has ``timeout_s``. The child checks it between pages and skips the file by itself
("soft" budget, child survives); the parent kills the child at ``timeout_s`` plus a grace period
("hard" deadline, for a single page or an xref parse that never returns). ``RLIMIT_CPU`` is a
backstop for an orphaned child (parent killed), sized for the whole batch.
"""

from __future__ import annotations

import contextlib
import gc
import io
import logging
import math
import multiprocessing
import multiprocessing.connection
import signal
import sys
import threading
import time
import warnings
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from connect_pipeline.errors import ResumeError

__all__ = ["ResumeLimits", "FileOutcome", "parse_pdf_bytes", "run_sandboxed", "PDF_MAGIC", "has_pdf_magic"]

PDF_MAGIC = b"%PDF-"
# Acrobat accepts the header anywhere in the first 1024 bytes; some mail gateways and
# word-processor exports prepend junk, so we do too.
MAGIC_WINDOW = 1024

_READY_DEADLINE_S = 60.0  # a child that cannot import pypdf in a minute is a broken host


@dataclass(frozen=True)
class ResumeLimits:
    """Bounds for reading untrusted resumes. Defaults fit a 2-core, few-GiB run worker."""

    max_bytes: int = 10 * 1024 * 1024
    max_pages: int = 20
    timeout_s: float = 20.0
    memory_mb: int = 512
    max_chars: int = 200_000
    batch_size: int = 50
    workers: int = 2

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_pages", "memory_mb", "max_chars", "batch_size", "workers"):
            if getattr(self, name) < 1:
                raise ValueError(f"ResumeLimits.{name} must be at least 1, got {getattr(self, name)}")
        if not self.timeout_s > 0:
            raise ValueError(f"ResumeLimits.timeout_s must be positive, got {self.timeout_s}")

    @property
    def hard_timeout_s(self) -> float:
        """When the parent kills a child stuck on one file: the soft budget plus a grace period
        so that a child that is merely slow can still skip the file by itself."""
        return self.timeout_s + min(5.0, max(0.5, 0.25 * self.timeout_s))


@dataclass
class FileOutcome:
    """What happened to one file; ``reason`` is None exactly when ``status == "ok"``."""

    status: str
    reason: str | None = None
    pages: int | None = None
    text: str | None = None
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    linkedin_urls: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    places: list[str] = field(default_factory=list)
    employers: list[str] = field(default_factory=list)

    @classmethod
    def skipped(cls, reason: str, pages: int | None = None) -> "FileOutcome":
        return cls(status="skipped", reason=reason, pages=pages)


def has_pdf_magic(head: bytes) -> bool:
    return PDF_MAGIC in head[:MAGIC_WINDOW]


# --------------------------------------------------------------------------------------------
# Child side
# --------------------------------------------------------------------------------------------


def _clean_text(text: str) -> str:
    """Make extracted text safe to store: no NULs, no lone surrogates (Parquet needs UTF-8)."""
    text = text.replace("\x00", "")
    return text.encode("utf-8", "replace").decode("utf-8")


def parse_pdf_bytes(data: bytes, limits: ResumeLimits, started: float | None = None) -> FileOutcome:
    """Parse one PDF held in memory. Runs in the child; exceptions other than MemoryError are
    turned into skip reasons here so the child keeps going with the next file.

    Encryption: pypdf tries the empty user password, as every PDF viewer does. Files protected
    only by an owner password ("restrict editing" exports, common among resumes) are therefore
    read; a file that needs a real password is skipped as "encrypted" and no password is guessed.

    Strict mode is off: word processors and PDF printers routinely write slightly wrong xref
    offsets that strict mode rejects outright, while the bounds that matter against hostile files
    (time, memory, pages, bytes, pypdf's own decompression limits) apply either way.
    """
    from pypdf import PdfReader, PasswordType
    from pypdf.errors import FileNotDecryptedError, LimitReachedError

    from connect_pipeline.resumes.signals import extract_signals

    started = time.monotonic() if started is None else started
    if len(data) > limits.max_bytes:
        return FileOutcome.skipped("too_large")
    if not has_pdf_magic(data):
        return FileOutcome.skipped("not_pdf")
    pages: int | None = None
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:
                decrypted = reader.decrypt("") != PasswordType.NOT_DECRYPTED
            except MemoryError:
                raise
            except Exception:
                decrypted = False
            if not decrypted:
                return FileOutcome.skipped("encrypted")
        pages = len(reader.pages)
        if pages > limits.max_pages:
            return FileOutcome.skipped("too_many_pages", pages)
        parts: list[str] = []
        total = 0
        for page in reader.pages:
            if time.monotonic() - started > limits.timeout_s:
                return FileOutcome.skipped("timeout", pages)
            part = page.extract_text() or ""
            parts.append(part)
            total += len(part) + 1
            if total >= limits.max_chars:
                break
    except MemoryError:
        raise
    except FileNotDecryptedError:
        return FileOutcome.skipped("encrypted", pages)
    except LimitReachedError:
        # pypdf refused to inflate or walk more than its configured bounds: a resource bomb.
        return FileOutcome.skipped("memory", pages)
    except RecursionError:
        return FileOutcome.skipped("corrupt", pages)
    except Exception:
        return FileOutcome.skipped("corrupt", pages)
    text = _clean_text("\n".join(parts))[: limits.max_chars]
    if not text.strip():
        return FileOutcome.skipped("no_text", pages)
    sig = extract_signals(text)
    return FileOutcome(
        status="ok",
        pages=pages,
        text=text,
        emails=sig.emails,
        phones=sig.phones,
        linkedin_urls=sig.linkedin_urls,
        names=sig.names,
        places=sig.places,
        employers=sig.employers,
    )


def _parse_path(path: str, limits: ResumeLimits) -> FileOutcome:
    started = time.monotonic()
    try:
        with open(path, "rb") as fh:
            # Read one byte past the cap: the file may have grown since the parent checked it.
            data = fh.read(limits.max_bytes + 1)
    except OSError:
        return FileOutcome.skipped("corrupt")
    return parse_pdf_bytes(data, limits, started)


def _address_space_bytes() -> int | None:
    try:
        with open("/proc/self/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _set_limits(limits: ResumeLimits, n_files: int) -> None:
    import resource

    def lower(kind: int, soft: int) -> None:
        cur_soft, cur_hard = resource.getrlimit(kind)
        if cur_hard != resource.RLIM_INFINITY:
            soft = min(soft, cur_hard)
        hard = cur_hard if cur_hard != resource.RLIM_INFINITY else soft
        if kind == resource.RLIMIT_CPU and cur_hard == resource.RLIM_INFINITY:
            hard = soft + 5  # SIGXCPU first, SIGKILL a little later if it is ignored
        resource.setrlimit(kind, (soft, hard))

    baseline = _address_space_bytes() or 0
    lower(resource.RLIMIT_AS, baseline + limits.memory_mb * 1024 * 1024)
    cpu = math.ceil(limits.hard_timeout_s * n_files) + 30
    lower(resource.RLIMIT_CPU, cpu)
    lower(resource.RLIMIT_CORE, 0)


def _child_main(conn: multiprocessing.connection.Connection, items: list[tuple[int, str]], limits: ResumeLimits) -> None:
    """Entry point of a batch child: parse ``items`` in order, reporting each as it finishes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    logging.getLogger("pypdf").setLevel(logging.CRITICAL)
    warnings.simplefilter("ignore")
    import pypdf  # noqa: F401  (import before the memory cap is measured and set)

    import connect_pipeline.resumes.signals  # noqa: F401

    _set_limits(limits, len(items))
    conn.send(("ready",))
    for index, path in items:
        try:
            outcome = _parse_path(path, limits)
        except MemoryError:
            outcome = None
        if outcome is None:
            # Release what we can, report, and let the parent restart a clean child.
            gc.collect()
            conn.send(("result", index, FileOutcome.skipped("memory")))
            conn.send(("stop",))
            conn.close()
            return
        conn.send(("result", index, outcome))
    conn.send(("done",))
    conn.close()


# --------------------------------------------------------------------------------------------
# Parent side
# --------------------------------------------------------------------------------------------


_preload_set = False
_main_lock = threading.Lock()


@contextlib.contextmanager
def _main_module_hidden() -> Iterator[None]:
    """Start a child without telling it where the host's ``__main__`` lives.

    multiprocessing hands a "spawn"/"forkserver" child the path of the parent's main script and
    the child runs it again (as ``__mp_main__``) before it does anything else. Our children need
    nothing from it, and a host script without an ``if __name__ == "__main__"`` guard, or a CLI
    entry script (pytest, dagster), would re-run there. Hiding ``__file__``/``__spec__`` for the
    instant of ``start()`` makes the child skip that step.
    """
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    with _main_lock:
        saved = {name: main.__dict__[name] for name in ("__file__", "__spec__") if name in main.__dict__}
        main.__dict__.pop("__file__", None)
        main.__dict__["__spec__"] = None
        try:
            yield
        finally:
            main.__dict__.pop("__spec__", None)
            main.__dict__.update(saved)


def _context() -> multiprocessing.context.BaseContext:
    """The "forkserver" context with this module preloaded, else "spawn".

    Both start children from a fresh interpreter, never from a fork of the (threaded, tenant-data
    holding) parent. The fork server imports pypdf and this module once; each batch child is then
    a fork of that small, clean process and starts in milliseconds. The host's ``__main__`` is
    deliberately not preloaded: a script without an ``if __name__ == "__main__"`` guard (or a
    Dagster run worker) would run again inside the fork server. The preload list is
    process-global and only takes effect if nothing started the fork server before us; either way
    children work, only start-up cost differs.
    """
    global _preload_set
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    if not _preload_set:
        ctx.set_forkserver_preload(["pypdf", "connect_pipeline.resumes.signals", __name__])
        _preload_set = True
    return ctx


@dataclass
class _Slot:
    proc: Any
    conn: multiprocessing.connection.Connection
    items: list[tuple[int, str]]
    spawned_at: float
    pos: int = 0
    ready: bool = False
    clock: float = 0.0  # when the in-progress file started
    finished: bool = False  # the child said "done" or "stop": nothing is in progress
    killed_for_time: bool = False


def _reason_for_death(slot: _Slot) -> str:
    if slot.killed_for_time:
        return "timeout"
    code = slot.proc.exitcode
    if code == -signal.SIGXCPU:
        return "timeout"
    if code in (-signal.SIGKILL, -signal.SIGABRT):
        # SIGKILL we did not send is the kernel's OOM killer; SIGABRT is CPython or a C library
        # giving up on a failed allocation under RLIMIT_AS.
        return "memory"
    return "corrupt"


def _kill(slot: _Slot) -> None:
    if slot.proc.is_alive():
        slot.proc.kill()
    slot.proc.join(5)
    slot.conn.close()


def run_sandboxed(items: list[tuple[int, str]], limits: ResumeLimits) -> dict[int, FileOutcome]:
    """Parse ``(index, path)`` items in up to ``limits.workers`` child processes.

    Returns an outcome for every index. Raises ResumeError only when a child cannot even start
    (a broken host, not a hostile file).
    """
    results: dict[int, FileOutcome] = {}
    if not items:
        return results
    ctx = _context()
    # Spread small inputs over all workers; cap batches for large ones.
    size = max(1, min(limits.batch_size, math.ceil(len(items) / limits.workers)))
    queue: deque[list[tuple[int, str]]] = deque(items[i : i + size] for i in range(0, len(items), size))
    active: list[_Slot] = []
    startup_failures = 0

    def start(batch: list[tuple[int, str]]) -> None:
        parent_conn, child_conn = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_child_main, args=(child_conn, batch, limits), daemon=True, name="resume-reader")
        with _main_module_hidden():
            proc.start()
        child_conn.close()
        active.append(_Slot(proc=proc, conn=parent_conn, items=batch, spawned_at=time.monotonic()))

    def drain(slot: _Slot) -> None:
        while True:
            try:
                if not slot.conn.poll():
                    return
                msg = slot.conn.recv()
            except (EOFError, OSError):
                return
            except Exception:
                return  # a message cut short by the child's death
            kind = msg[0]
            now = time.monotonic()
            if kind == "ready":
                slot.ready = True
                slot.clock = now
            elif kind == "result":
                _, index, outcome = msg
                results[index] = outcome
                slot.pos += 1
                slot.clock = now
            elif kind in ("done", "stop"):
                slot.finished = True

    def retire(slot: _Slot) -> None:
        nonlocal startup_failures
        _kill(slot)
        active.remove(slot)
        rest = slot.items[slot.pos :]
        if not rest:
            return
        if not slot.ready:
            startup_failures += 1
            if startup_failures > 2:
                raise ResumeError(
                    f"resume reader child could not start (exit code {slot.proc.exitcode}); "
                    f"{len(items)} resumes not read. Check the host's process and memory limits."
                )
            queue.appendleft(rest)
            return
        if not slot.finished:
            index = rest[0][0]
            results[index] = FileOutcome.skipped(_reason_for_death(slot))
            rest = rest[1:]
        if rest:
            queue.appendleft(rest)

    try:
        while queue or active:
            while queue and len(active) < limits.workers:
                start(queue.popleft())
            now = time.monotonic()
            deadlines = [
                (s.clock + limits.hard_timeout_s) if s.ready else (s.spawned_at + _READY_DEADLINE_S) for s in active
            ]
            wait_for = max(0.0, min(deadlines) - now)
            handles: list[Any] = [s.conn for s in active] + [s.proc.sentinel for s in active]
            multiprocessing.connection.wait(handles, timeout=wait_for)
            for slot in list(active):
                drain(slot)
                if slot.pos >= len(slot.items) and slot.finished:
                    retire(slot)
                    continue
                if not slot.proc.is_alive():
                    drain(slot)  # anything sent just before it died
                    retire(slot)
                    continue
                deadline = (slot.clock + limits.hard_timeout_s) if slot.ready else (slot.spawned_at + _READY_DEADLINE_S)
                if time.monotonic() >= deadline:
                    slot.killed_for_time = slot.ready
                    slot.proc.kill()
                    slot.proc.join(5)
                    drain(slot)
                    retire(slot)
    finally:
        for slot in active:
            _kill(slot)
    return results
