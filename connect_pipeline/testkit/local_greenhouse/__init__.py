"""A Harvest v3-compatible Greenhouse on loopback: the demo's default and the tests' backbone."""

from .server import FaultPlan, LocalGreenhouse

__all__ = ["FaultPlan", "LocalGreenhouse"]
