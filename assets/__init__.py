"""The connect-pipeline Dagster code location: assets, checks, jobs, schedules and sensors."""
