"""The Dagster layer: it only wires the plain modules of monitoring_jobs into assets, checks,
jobs, schedules and sensors. Nothing that computes a statistic lives here."""
