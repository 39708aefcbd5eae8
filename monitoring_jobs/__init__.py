"""Batch monitoring of machine-learning models in production, as Dagster pipelines."""

from monitoring_jobs.cpu import prefer_avx2_sort

prefer_avx2_sort()  # before anything imports numpy, which reads its CPU settings once (see monitoring_jobs.cpu)
