"""Tenants are the partitions: one dynamic partition per connected Greenhouse account."""

from dagster import DynamicPartitionsDefinition

TENANTS_PARTITION = "tenants"
tenant_partitions = DynamicPartitionsDefinition(name=TENANTS_PARTITION)
