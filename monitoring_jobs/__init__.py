"""Batch monitoring of machine-learning models in production, as Dagster pipelines."""

from monitoring_jobs.cpu import prefer_avx2_sort
from monitoring_jobs.memory import prefer_jemalloc

prefer_avx2_sort()  # before anything imports numpy, which reads its CPU settings once (see monitoring_jobs.cpu)
prefer_jemalloc()  # Arrow's allocator for the whole process (see monitoring_jobs.memory)
