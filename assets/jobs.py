"""Jobs: the whole per-tenant graph, and the shared profile features."""

from dagster import AssetSelection, define_asset_job, in_process_executor

from assets.tenant_assets import TENANT_ASSETS, profile_features

# One process per run: the step-per-process overhead dominates a tenant's small steps, and the
# stages hand data over through the tenant's staging folder anyway.
tenant_job = define_asset_job(
    "tenant_job",
    selection=AssetSelection.assets(profile_features, *TENANT_ASSETS),
    executor_def=in_process_executor,
    description="Make sure the index snapshot's profile features exist (once per snapshot), then "
    "extract, normalise, link, publish and purge one tenant.",
)

profile_features_job = define_asset_job(
    "profile_features_job",
    selection=AssetSelection.assets(profile_features),
    executor_def=in_process_executor,
    description="Rebuild the shared profile features for the current index snapshot.",
)
