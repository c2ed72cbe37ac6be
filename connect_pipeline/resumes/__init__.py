"""Resume reading: untrusted PDFs in, text and contact signals out.

``read_resumes`` is imported lazily: the sandboxed children import this package too, and must
not pay for (or map the address space of) Polars, which only the parent needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from connect_pipeline.resumes.sandbox import ResumeLimits

if TYPE_CHECKING:
    from connect_pipeline.resumes.reader import read_resumes

__all__ = ["ResumeLimits", "read_resumes"]


def __getattr__(name: str) -> Any:
    if name == "read_resumes":
        from connect_pipeline.resumes.reader import read_resumes

        return read_resumes
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
