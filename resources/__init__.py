"""Dagster resources that hand connect-pipeline's domain objects to the assets."""

from resources.connect import ConnectResource

__all__ = ["ConnectResource"]
