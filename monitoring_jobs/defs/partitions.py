"""The one place daily partitions are defined, so every asset of a monitor shares the same days."""

from __future__ import annotations

import datetime as dt
from functools import cache

import dagster as dg


@cache
def daily_partitions(start_date: dt.date) -> dg.DailyPartitionsDefinition:
    """Days from ``start_date`` up to yesterday (UTC): a day is monitored once it is complete.

    Cached so that monitors with the same start date share one definition (and one backfill).
    """
    return dg.DailyPartitionsDefinition(start_date=start_date.isoformat(), timezone="UTC")


def partition_day(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> dt.date:
    return dt.date.fromisoformat(context.partition_key)
