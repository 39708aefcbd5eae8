"""The code location Dagster loads (workspace.yaml, ``dg dev``): every monitor under assets/monitors."""

from monitoring_jobs.defs.monitors import build_definitions

defs = build_definitions()
