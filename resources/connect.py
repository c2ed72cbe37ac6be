"""The one resource the tenant assets need: where data lives and how to reach Greenhouse.

It holds configuration only (paths and model knobs); secrets are resolved per run from the tenant
registry's reference (an environment variable or an encrypted value), never stored in run config.
"""

from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource

from connect_pipeline.harvest.client import HarvestClient
from connect_pipeline.linkage import DEFAULT_THRESHOLD, LinkConfig
from connect_pipeline.profile_index import PROFILES_ENV, default_profiles_glob  # noqa: F401 (re-exported)
from connect_pipeline.storage import TenantStorage, data_root
from connect_pipeline.tenants import TenantConnection, TenantRegistry

class ConnectResource(ConfigurableResource):
    """Storage root, profile index and link settings shared by every tenant run."""

    data_dir: str
    profiles_glob: str
    link_threshold: float = DEFAULT_THRESHOLD
    u_max_pairs: float = 2e6
    link_backend: str = "duckdb"  # "spark" for profile indexes past one machine (the spark extra)

    @property
    def root(self) -> Path:
        return data_root(self.data_dir)

    def registry(self) -> TenantRegistry:
        return TenantRegistry(self.root)

    def connection(self, tenant_id: str) -> TenantConnection:
        return self.registry().get(tenant_id)

    def storage(self, tenant_id: str) -> TenantStorage:
        return TenantStorage(self.root, tenant_id)

    def tenant(self, tenant_id: str) -> tuple[TenantConnection, TenantStorage]:
        """The connection and the folders of the tenant a partition names."""
        return self.connection(tenant_id), self.storage(tenant_id)

    def harvest_client(self, connection: TenantConnection, log=None) -> HarvestClient:
        return HarvestClient(
            connection.api_base_url,
            connection.credential(),
            tenant_id=connection.tenant_id,
            log=log,
        )

    def link_config(self) -> LinkConfig:
        return LinkConfig(
            threshold=self.link_threshold, u_max_pairs=self.u_max_pairs, backend=self.link_backend
        )
