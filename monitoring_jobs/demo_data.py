"""Seeded demo inference logs and delayed labels for the three demo monitors.

The demo exists to show every part of the pipeline firing on data whose truth is known, so the
generator injects a fixed set of incidents on documented days and keeps every other day clean.
Day index 0 is ``start`` (2026-10-01 by default); the demo period is 30 days.

Injected incidents (``INCIDENTS`` holds the same table with dates):

==============  ===================  =====  ===================================================
model           kind                 days   what happens
==============  ===================  =====  ===================================================
house_price     latency_error_spike  7      latency x6, 15% of rows ``error``/``timeout``
credit_default  null_spike           10     40% of ``debt_ratio`` is null (a logging bug: the
                                            model still scored the real value)
credit_default  drift                15-29  ``income`` falls and ``credit_utilization`` rises,
                                            0.07 reference std more each day (0.42 on day 20);
                                            the model scores the shifted features
house_price     performance_drop     22-24  true sale prices are 30% above the usual price,
                                            the predictions are not
credit_default  performance_drop     24-26  applicants shift towards borderline cases (true
                                            default odds near even): accuracy and ROC AUC
                                            fall, visible in the scores before labels arrive
llm_assistant   cost_overrun         5      a retrieval bug attaches ~16 documents to each
                                            prompt instead of 3: prompts triple, cost doubles
llm_assistant   slow_generation      9      answers generated 3x slower, 11% of requests time
                                            out after 30 s
llm_assistant   quality_drop         17-19  a worse system prompt: judge scores, reported
                                            confidence and people's ratings all fall
llm_assistant   traffic_drop         23     a client is down 08:00-20:00 UTC: about 70% of
                                            the day's requests never arrive
==============  ===================  =====  ===================================================

Not an incident: the model version changes from ``v1`` to ``v2`` at noon UTC on day 12 (a
rollout that should be visible in the logs but must not change any statistic).

Layout under ``data_root`` (Hive-style partitions, one file per partition)::

    credit_default/inference/dt=YYYY-MM-DD/part-0000.parquet
    credit_default/labels/dt=<arrival date>/part-0000.parquet
    credit_default/reference/reference.parquet
    house_price/inference/dt=YYYY-MM-DD/part-0000.jsonl.gz
    house_price/labels/dt=<arrival date>/part-0000.csv
    llm_assistant/inference/dt=YYYY-MM-DD/part-0000.parquet
    llm_assistant/labels/dt=<arrival date>/part-0000.jsonl
    llm_assistant/reference/reference.parquet

On clean days about 0.8% of credit and house requests end in status ``error`` or ``timeout``;
those rows keep their features but have no score or prediction. About 90% of those requests get
a label (failed ones too: the outcome exists whether or not the model answered), 1-7 days after
the prediction, written into the partition of its arrival date. The LLM endpoint serves half as
many requests, busier in the afternoon (UTC) than at night; about 1.5% end in ``timeout``,
``rate_limited`` or ``content_filter`` with no answer, and people rate about 30% of the answers
(the label), 1-7 days later. Its ``cost_usd`` is the provider's bill at 0.0025 USD per 1k prompt
and 0.01 USD per 1k completion tokens. Label partitions exist only for arrival dates
inside the period (later labels have not arrived yet), and only for dates on which at least one
label arrived.

Every random stream is keyed by (seed, model, day), so the same seed gives byte-identical files
and one day's data does not depend on how many days are generated.
"""

from __future__ import annotations

import csv
import datetime
import gzip
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from monitoring_jobs.storage.objects import write_atomic

DEMO_START = datetime.date(2026, 10, 1)
DEMO_DAYS = 30
REFERENCE_ROWS = 5000
MODEL_V2_ROLLOUT = datetime.timedelta(days=12, hours=12)
"""Time after ``start`` from which requests are served by model ``v2``."""

_DAY_US = 86_400_000_000
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_LABEL_SHARE = 0.9
_LABEL_DELAY_DAYS = np.arange(1, 8)
_LABEL_DELAY_PROBS = np.array([0.25, 0.25, 0.15, 0.12, 0.10, 0.08, 0.05])

_STATUSES = np.array(["ok", "error", "timeout"])
_CLEAN_STATUS_PROBS = (0.992, 0.005, 0.003)
_SPIKE_STATUS_PROBS = (0.85, 0.09, 0.06)
_LATENCY_SPIKE_FACTOR = 6.0
_TIMEOUT_MS = 2000.0

_DRIFT_STD_PER_DAY = 0.07
_NULL_SPIKE_SHARE = 0.4
_BORDERLINE_POOL = 4
_BORDERLINE_WIDTH = 0.5
_PRICE_JUMP = 1.3


@dataclass(frozen=True)
class Incident:
    """One injected problem: which model, what kind, on which days (inclusive), in which columns."""

    model: str
    kind: str
    first_day: datetime.date
    last_day: datetime.date
    columns: tuple[str, ...]
    description: str


# (model, kind, first day index, last day index, columns, description)
_INCIDENT_TABLE = (
    ("house_price", "latency_error_spike", 7, 7, ("latency_ms", "status"),
     "latency x6 and 15% of requests end in status error/timeout"),
    ("credit_default", "null_spike", 10, 10, ("debt_ratio",),
     "40% of debt_ratio is null (a logging bug: the model still scored the real value)"),
    ("credit_default", "drift", 15, 29, ("income", "credit_utilization"),
     "gradual drift: income falls and credit_utilization rises by 0.07 reference std more each day"),
    ("house_price", "performance_drop", 22, 24, ("label",),
     "true sale prices are 30% above the usual price; the predictions are not"),
    ("credit_default", "performance_drop", 24, 26, ("score", "debt_ratio", "label"),
     "applicants shift towards borderline cases (true default odds near even): the scores, not just the "
     "labels, show it"),
    ("llm_assistant", "cost_overrun", 5, 5, ("retrieved_docs", "prompt_tokens", "cost_usd"),
     "a retrieval bug attaches about 16 documents to each prompt instead of 3: prompts triple, cost doubles"),
    ("llm_assistant", "slow_generation", 9, 9, ("latency_ms", "status"),
     "answers are generated 3x slower and 11% of requests time out after 30 s"),
    ("llm_assistant", "quality_drop", 17, 19, ("quality_score", "confidence", "label"),
     "a worse system prompt: judge scores, reported confidence and people's ratings all fall"),
    ("llm_assistant", "traffic_drop", 23, 23, ("timestamp",),
     "a client is down from 08:00 to 20:00 UTC, so about 70% of the day's requests never arrive"),
)


def incidents_for(start: datetime.date) -> tuple[Incident, ...]:
    """The injected incidents of a demo period beginning on ``start``."""
    return tuple(
        Incident(model, kind, start + datetime.timedelta(days=first), start + datetime.timedelta(days=last),
                 columns, description)
        for model, kind, first, last, columns, description in _INCIDENT_TABLE
    )


INCIDENTS = incidents_for(DEMO_START)


def _incident_day(model: str, kind: str, day: int | None) -> int | None:
    """1-based day number inside the incident, or None when ``day`` is outside it (None: the reference)."""
    if day is None:
        return None
    for name, incident_kind, first, last, _, _ in _INCIDENT_TABLE:
        if name == model and incident_kind == kind and first <= day <= last:
            return day - first + 1
    return None


# ---------------------------------------------------------------------------------------------
# Rows shared by credit_default and house_price: ids, timestamps, version, status, latency


@dataclass(frozen=True)
class _Window:
    """One batch of requests: ids ``<id_prefix>-000001`` up, timestamps in [start_us, start_us + length_us)."""

    id_prefix: str
    start_us: int
    length_us: int
    rollout_us: int  # requests from here on are served by model v2

    def ids(self, n: int) -> list[str]:
        return [f"{self.id_prefix}-{i:06d}" for i in range(1, n + 1)]

    def versions(self, timestamps_us: np.ndarray) -> np.ndarray:
        return np.where(timestamps_us >= self.rollout_us, "v2", "v1")


@dataclass(frozen=True)
class _Requests:
    ids: list[str]
    timestamps_us: np.ndarray  # int64 microseconds since the epoch, sorted
    model_version: np.ndarray
    status: np.ndarray
    latency_ms: np.ndarray

    @property
    def ok(self) -> np.ndarray:
        return self.status == "ok"


def _draw_requests(rng: np.random.Generator, n: int, window: _Window, *, latency_spike: bool) -> _Requests:
    timestamps = window.start_us + np.sort(rng.integers(0, window.length_us, n))
    status = rng.choice(_STATUSES, size=n, p=_SPIKE_STATUS_PROBS if latency_spike else _CLEAN_STATUS_PROBS)
    latency = np.where(status == "ok", rng.lognormal(np.log(80.0), 0.35, n), rng.lognormal(np.log(30.0), 0.5, n))
    if latency_spike:
        latency = latency * _LATENCY_SPIKE_FACTOR
    # A timeout is the client giving up, so its latency is the timeout itself whatever the server does.
    latency = np.where(status == "timeout", _TIMEOUT_MS + rng.uniform(0.0, 50.0, n), latency)
    return _Requests(
        ids=window.ids(n),
        timestamps_us=timestamps,
        model_version=window.versions(timestamps),
        status=status,
        latency_ms=np.round(latency, 1),
    )


# ---------------------------------------------------------------------------------------------
# credit_default: binary classifier of loan default

_REGIONS = np.array(["north", "south", "east", "west"])
_REGION_PROBS = (0.30, 0.25, 0.25, 0.20)
_EMPLOYMENT = np.array(["salaried", "self_employed", "unemployed", "retired"])
_EMPLOYMENT_PROBS = (0.62, 0.18, 0.07, 0.13)
_EMPLOYMENT_LOGIT = np.array([0.0, 0.35, 1.1, -0.2])
_INCOME_MEDIAN, _INCOME_SIGMA = 52_000.0, 0.5
_UTIL_A, _UTIL_B = 2.0, 3.0
_UTIL_MEAN = _UTIL_A / (_UTIL_A + _UTIL_B)
_UTIL_STD = float(np.sqrt(_UTIL_A * _UTIL_B / ((_UTIL_A + _UTIL_B) ** 2 * (_UTIL_A + _UTIL_B + 1))))
_INCOME_CV = float(np.sqrt(np.expm1(_INCOME_SIGMA**2)))


def _credit_features(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    return {
        "age": np.round(np.clip(rng.normal(41.0, 12.0, n), 18.0, 85.0), 1),
        "income": rng.lognormal(np.log(_INCOME_MEDIAN), _INCOME_SIGMA, n),
        "debt_ratio": rng.beta(2.0, 5.0, n),
        "credit_utilization": rng.beta(_UTIL_A, _UTIL_B, n),
        "num_open_accounts": rng.poisson(4.0, n).astype(np.int64),
        "region": rng.choice(_REGIONS, size=n, p=_REGION_PROBS),
        "employment_type": rng.choice(_EMPLOYMENT, size=n, p=_EMPLOYMENT_PROBS),
    }


def _drift_credit(features: dict[str, np.ndarray], drift_day: int) -> None:
    """Shift income down and utilization up by ``drift_day * 0.07`` reference std each.

    Both are monotone maps, so each moves every quantile the same way and the Wasserstein
    distance over the reference std equals the intended shift: income is scaled (stays
    positive), utilization is pulled towards 1 (stays in [0, 1]).
    """
    shift = _DRIFT_STD_PER_DAY * drift_day
    features["income"] = features["income"] * (1.0 - shift * _INCOME_CV)
    util = features["credit_utilization"]
    features["credit_utilization"] = util + shift * _UTIL_STD / (1.0 - _UTIL_MEAN) * (1.0 - util)


def _category_index(values: np.ndarray, categories: np.ndarray) -> np.ndarray:
    return (values[:, None] == categories[None, :]).argmax(axis=1)


def _default_logit(features: dict[str, np.ndarray]) -> np.ndarray:
    """The true log-odds of default; the model sees the same features and adds its own error."""
    employment = _EMPLOYMENT_LOGIT[_category_index(features["employment_type"], _EMPLOYMENT)]
    return (-1.6
            + 1.0 * (features["credit_utilization"] - _UTIL_MEAN) / _UTIL_STD
            + 0.8 * (features["debt_ratio"] - 2.0 / 7.0) / 0.16
            - 0.7 * (np.log(features["income"]) - np.log(_INCOME_MEDIAN)) / _INCOME_SIGMA
            - 0.3 * (features["age"] - 41.0) / 12.0
            + 0.15 * (features["num_open_accounts"] - 4.0) / 2.0
            + employment)


def _borderline_applicants(rng: np.random.Generator, features: dict[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
    """Keep ``n`` of the candidates, favouring true log-odds near 0 (a coin flip to the model).

    A covariate shift: P(default | features) is unchanged, so the model is as right as ever about
    each applicant, but more of them are hard cases, and accuracy and ROC AUC fall. Unlike flipped
    labels this is visible before any label arrives, through the scores (what CBPE estimates from).
    """
    logit = _default_logit(features)
    weight = np.exp(-0.5 * (logit / _BORDERLINE_WIDTH) ** 2)
    chosen = rng.choice(logit.size, size=n, replace=False, p=weight / weight.sum())
    return {name: values[chosen] for name, values in features.items()}


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


_CREDIT_SCHEMA = pa.schema([
    ("request_id", pa.string()),
    ("timestamp", pa.timestamp("us", tz="UTC")),
    ("model_version", pa.string()),
    ("age", pa.float64()),
    ("income", pa.float64()),
    ("debt_ratio", pa.float64()),
    ("credit_utilization", pa.float64()),
    ("num_open_accounts", pa.int64()),
    ("region", pa.string()),
    ("employment_type", pa.string()),
    ("score", pa.float64()),
    ("prediction", pa.int64()),
    ("latency_ms", pa.float64()),
    ("status", pa.string()),
])


def _credit_rows(rng: np.random.Generator, requests: _Requests, day: int | None) -> tuple[pa.Table, np.ndarray]:
    """One batch of credit requests and their true labels; ``day`` None means the clean reference."""
    n = len(requests.ids)
    borderline = _incident_day("credit_default", "performance_drop", day) is not None
    features = _credit_features(rng, n * (_BORDERLINE_POOL if borderline else 1))
    drift_day = _incident_day("credit_default", "drift", day)
    if drift_day:
        _drift_credit(features, drift_day)
    if borderline:
        features = _borderline_applicants(rng, features, n)
    features["income"] = np.round(features["income"], 2)
    features["debt_ratio"] = np.round(features["debt_ratio"], 4)
    features["credit_utilization"] = np.round(features["credit_utilization"], 4)
    logit = _default_logit(features)
    score = np.round(_sigmoid(logit + rng.normal(0.0, 0.45, n)), 6)
    labels = (rng.random(n) < _sigmoid(logit)).astype(np.int64)
    debt_missing = np.zeros(n, dtype=bool)
    if _incident_day("credit_default", "null_spike", day):
        debt_missing[rng.choice(n, size=round(_NULL_SPIKE_SHARE * n), replace=False)] = True
    failed = ~requests.ok
    table = pa.table({
        "request_id": requests.ids,
        "timestamp": _utc_timestamps(requests.timestamps_us),
        "model_version": requests.model_version,
        "age": features["age"],
        "income": features["income"],
        "debt_ratio": pa.array(features["debt_ratio"], mask=debt_missing),
        "credit_utilization": features["credit_utilization"],
        "num_open_accounts": features["num_open_accounts"],
        "region": features["region"],
        "employment_type": features["employment_type"],
        "score": pa.array(score, mask=failed),
        "prediction": pa.array((score >= 0.5).astype(np.int64), mask=failed),
        "latency_ms": requests.latency_ms,
        "status": requests.status,
    }, schema=_CREDIT_SCHEMA)
    return table, labels


# ---------------------------------------------------------------------------------------------
# house_price: regression of the sale price

_NEIGHBORHOODS = np.array([f"n{i:02d}" for i in range(1, 9)])
_NEIGHBORHOOD_PROBS = (0.16, 0.14, 0.14, 0.12, 0.12, 0.12, 0.10, 0.10)
_PRICE_PER_SQFT = np.array([140.0, 180.0, 220.0, 160.0, 260.0, 120.0, 300.0, 200.0])
_PROPERTY_TYPES = np.array(["house", "condo", "townhouse"])
_PROPERTY_PROBS = (0.55, 0.30, 0.15)
_MEDIAN_SQFT = np.array([2000.0, 950.0, 1400.0])
_MEDIAN_LOT = np.array([7000.0, 400.0, 2200.0])
_PROPERTY_PREMIUM = np.array([0.0, 25_000.0, 10_000.0])

_HOUSE_SCHEMA = pa.schema([
    ("request_id", pa.string()),
    ("timestamp", pa.string()),
    ("model_version", pa.string()),
    ("sqft", pa.float64()),
    ("bedrooms", pa.int64()),
    ("bathrooms", pa.float64()),
    ("year_built", pa.int64()),
    ("lot_size", pa.float64()),
    ("neighborhood", pa.string()),
    ("property_type", pa.string()),
    ("prediction", pa.float64()),
    ("latency_ms", pa.float64()),
    ("status", pa.string()),
])


def _house_rows(rng: np.random.Generator, requests: _Requests, day: int) -> tuple[pa.Table, np.ndarray]:
    """One day of house price requests and their true sale prices.

    Price and prediction share one linear function of the features; each adds its own
    multiplicative noise, which keeps prices positive and R^2 near 0.8.
    """
    n = len(requests.ids)
    kind = rng.choice(len(_PROPERTY_TYPES), size=n, p=_PROPERTY_PROBS)
    area = rng.choice(len(_NEIGHBORHOODS), size=n, p=_NEIGHBORHOOD_PROBS)
    sqft = np.round(rng.lognormal(np.log(_MEDIAN_SQFT[kind]), 0.3), 1)
    bedrooms = np.clip(np.round(sqft / 550.0 + rng.normal(0.0, 0.6, n)), 1, 6).astype(np.int64)
    bathrooms = np.clip(np.round(2.0 * (0.5 + 0.5 * bedrooms + rng.normal(0.0, 0.4, n))) / 2.0, 1.0, 5.0)
    year_built = np.clip(np.round(2025.0 - rng.gamma(2.0, 18.0, n)), 1900, 2025).astype(np.int64)
    lot_size = np.round(rng.lognormal(np.log(_MEDIAN_LOT[kind]), 0.45), 1)
    value = (40_000.0 + _PRICE_PER_SQFT[area] * sqft + 9_000.0 * bathrooms + 5_000.0 * bedrooms
             + 1_000.0 * (year_built - 1970) + 4.0 * lot_size + _PROPERTY_PREMIUM[kind])
    sale_price = value * np.exp(rng.normal(0.0, 0.15, n))
    prediction = np.round(value * np.exp(rng.normal(0.0, 0.10, n)), 2)
    if _incident_day("house_price", "performance_drop", day):
        sale_price = sale_price * _PRICE_JUMP
    table = pa.table({
        "request_id": requests.ids,
        "timestamp": _iso_utc(requests.timestamps_us),
        "model_version": requests.model_version,
        "sqft": sqft,
        "bedrooms": bedrooms,
        "bathrooms": bathrooms,
        "year_built": year_built,
        "lot_size": lot_size,
        "neighborhood": _NEIGHBORHOODS[area],
        "property_type": _PROPERTY_TYPES[kind],
        "prediction": pa.array(prediction, mask=~requests.ok),
        "latency_ms": requests.latency_ms,
        "status": requests.status,
    }, schema=_HOUSE_SCHEMA)
    return table, np.round(sale_price, -2)


# ---------------------------------------------------------------------------------------------
# llm_assistant: an LLM endpoint; a judge model scores each answer, people rate some answers later

_LLM_VOLUME = 0.5  # of rows_per_day: keeps the demo quick
_LLM_RATED_SHARE = 0.3
_HOUR_US = 3_600_000_000
_HOURLY_TRAFFIC = 1.0 + 0.6 * np.cos(2 * np.pi * (np.arange(24) - 14) / 24)  # busiest at 14:00 UTC
_OUTAGE_HOURS = (8, 20)  # [from, to) UTC: a client's outage on the traffic_drop day
_TASK_TYPES = np.array(["chat", "summarize", "code", "extract"])
_TASK_PROBS = (0.45, 0.25, 0.20, 0.10)
_PROMPT_MEDIAN = np.array([350.0, 1400.0, 600.0, 900.0])  # instructions and user text, before retrieved documents
_ANSWER_MEDIAN = np.array([220.0, 180.0, 400.0, 120.0])
_TOKENS_PER_DOCUMENT = 250
_DOCUMENTS_MEAN, _BALLOON_DOCUMENTS_MEAN = 3.0, 16.0
_LLM_STATUSES = np.array(["ok", "timeout", "rate_limited", "content_filter"])
_LLM_CLEAN_STATUS_PROBS = (0.985, 0.004, 0.007, 0.004)
_LLM_SLOW_STATUS_PROBS = (0.875, 0.11, 0.01, 0.005)
_USD_PER_1K_PROMPT_TOKENS, _USD_PER_1K_COMPLETION_TOKENS = 0.0025, 0.01
_CLIENT_TIMEOUT_MS = 30_000.0
_MS_PER_PROMPT_TOKEN, _MS_PER_ANSWER_TOKEN = 0.05, 12.0
_SLOWDOWN = 3.0
_QUALITY_BETA, _DROPPED_QUALITY_BETA = (8.0, 2.5), (4.5, 3.0)

_LLM_SCHEMA = pa.schema([
    ("request_id", pa.string()),
    ("timestamp", pa.timestamp("us", tz="UTC")),
    ("model_version", pa.string()),
    ("task_type", pa.string()),
    ("retrieved_docs", pa.int64()),
    ("prompt_tokens", pa.int64()),
    ("completion_tokens", pa.int64()),
    ("cost_usd", pa.float64()),
    ("latency_ms", pa.float64()),
    ("status", pa.string()),
    ("quality_score", pa.float64()),
    ("confidence", pa.float64()),
])


def _diurnal_timestamps(rng: np.random.Generator, n: int, window: _Window) -> np.ndarray:
    """Sorted timestamps over the window's days, more of them in the afternoon (UTC) than at night."""
    days = rng.integers(0, window.length_us // _DAY_US, n)
    hours = rng.choice(24, size=n, p=_HOURLY_TRAFFIC / _HOURLY_TRAFFIC.sum())
    return np.sort(window.start_us + days * _DAY_US + hours * _HOUR_US + rng.integers(0, _HOUR_US, n))


def _llm_day(rng: np.random.Generator, count: int, window: _Window, day: int | None) -> tuple[pa.Table, np.ndarray]:
    """One batch of LLM requests and the rating people will give each answer (NaN: no answer to rate).

    The logged cost is what the provider bills: prompt and answer tokens of answered requests, the prompt
    alone of timeouts and filtered answers, nothing for rate-limited requests. Latency is a first-token
    wait plus time per prompt and answer token; a request over the client's 30 s timeout is a timeout.
    The judge's ``quality_score`` and people's rating both follow the answer's hidden quality, as does
    ``confidence`` (the mean token probability the endpoint reports).
    """
    timestamps = _diurnal_timestamps(rng, count, window)
    if _incident_day("llm_assistant", "traffic_drop", day) is not None:
        hour = (timestamps - window.start_us) % _DAY_US // _HOUR_US
        timestamps = timestamps[(hour < _OUTAGE_HOURS[0]) | (hour >= _OUTAGE_HOURS[1])]
    n = len(timestamps)
    task = rng.choice(len(_TASK_TYPES), size=n, p=_TASK_PROBS)
    balloon = _incident_day("llm_assistant", "cost_overrun", day) is not None
    documents = rng.poisson(_BALLOON_DOCUMENTS_MEAN if balloon else _DOCUMENTS_MEAN, n)
    prompt = np.round(rng.lognormal(np.log(_PROMPT_MEDIAN[task]), 0.5)).astype(np.int64) \
        + _TOKENS_PER_DOCUMENT * documents
    answer = np.round(rng.lognormal(np.log(_ANSWER_MEDIAN[task]), 0.45)).astype(np.int64)
    slow = _incident_day("llm_assistant", "slow_generation", day) is not None
    status = rng.choice(_LLM_STATUSES, size=n, p=_LLM_SLOW_STATUS_PROBS if slow else _LLM_CLEAN_STATUS_PROBS)
    first_token = rng.lognormal(np.log(350.0), 0.3, n)
    generation = (first_token + prompt * _MS_PER_PROMPT_TOKEN + answer * _MS_PER_ANSWER_TOKEN) * (
        _SLOWDOWN if slow else 1.0)
    status = np.where((status == "ok") & (generation > _CLIENT_TIMEOUT_MS), "timeout", status)
    latency = np.select(
        [status == "ok", status == "content_filter", status == "rate_limited"],
        [generation, first_token + 150.0, rng.lognormal(np.log(40.0), 0.3, n)],
        default=_CLIENT_TIMEOUT_MS + rng.uniform(0.0, 100.0, n))
    ok = status == "ok"
    completion = np.where(ok, answer, 0)
    billed_prompt = np.where(status == "rate_limited", 0, prompt)
    cost = (billed_prompt * _USD_PER_1K_PROMPT_TOKENS + completion * _USD_PER_1K_COMPLETION_TOKENS) / 1000.0
    dropped = _incident_day("llm_assistant", "quality_drop", day) is not None
    quality = rng.beta(*(_DROPPED_QUALITY_BETA if dropped else _QUALITY_BETA), n)
    judge = np.round(np.clip(quality + rng.normal(0.0, 0.05, n), 0.0, 1.0), 3)
    confidence = np.round(np.clip(0.55 + 0.4 * quality + rng.normal(0.0, 0.04, n), 0.0, 1.0), 4)
    rating = np.round(np.clip(quality + rng.normal(0.0, 0.06, n), 0.0, 1.0), 2)
    table = pa.table({
        "request_id": window.ids(n),
        "timestamp": _utc_timestamps(timestamps),
        "model_version": window.versions(timestamps),
        "task_type": _TASK_TYPES[task],
        "retrieved_docs": documents.astype(np.int64),
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "cost_usd": np.round(cost, 8),
        "latency_ms": np.round(latency, 1),
        "status": status,
        "quality_score": pa.array(judge, mask=~ok),
        "confidence": pa.array(confidence, mask=~ok),
    }, schema=_LLM_SCHEMA)
    return table, np.where(ok, rating, np.nan)


# ---------------------------------------------------------------------------------------------
# Delayed labels


@dataclass(frozen=True)
class _Labels:
    request_ids: np.ndarray
    values: np.ndarray
    arrival_day: np.ndarray  # day index of the partition the label lands in
    labeled_at_us: np.ndarray


def _draw_labels(rng: np.random.Generator, request_ids: list[str], truth: np.ndarray, day: int,
                 start_us: int, share: float) -> _Labels:
    """About ``share`` of the requests get their label 1-7 days later, at a random time of that day; a request
    whose truth is NaN (an LLM request that got no answer to rate) never does."""
    labeled = (rng.random(len(request_ids)) < share) & ~np.isnan(truth)
    count = int(labeled.sum())
    arrival_day = day + rng.choice(_LABEL_DELAY_DAYS, size=count, p=_LABEL_DELAY_PROBS)
    labeled_at = start_us + arrival_day * _DAY_US + rng.integers(0, _DAY_US, count)
    return _Labels(np.asarray(request_ids)[labeled], truth[labeled], arrival_day, labeled_at)


def _labels_arriving(batches: list[_Labels], day: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(request ids, label values, labeled_at) of every label landing on ``day``, in arrival order."""
    ids = np.concatenate([b.request_ids[b.arrival_day == day] for b in batches])
    values = np.concatenate([b.values[b.arrival_day == day] for b in batches])
    labeled_at = np.concatenate([b.labeled_at_us[b.arrival_day == day] for b in batches])
    order = np.lexsort((ids, labeled_at))
    return ids[order], values[order], labeled_at[order]


# ---------------------------------------------------------------------------------------------
# File encodings


def _iso_utc(timestamps_us: np.ndarray) -> np.ndarray:
    """ISO-8601 strings with millisecond precision and a ``Z`` suffix."""
    return np.char.add(np.datetime_as_string(timestamps_us.astype("datetime64[us]"), unit="ms"), "Z")


def _utc_timestamps(timestamps_us: np.ndarray) -> pa.Array:
    return pa.array(timestamps_us, type=pa.int64()).cast(pa.timestamp("us", tz="UTC"))


def _parquet_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


_JSON = json.JSONEncoder(separators=(",", ":"))


def _jsonl_gzip_bytes(table: pa.Table) -> bytes:
    lines = "".join(_JSON.encode(row) + "\n" for row in table.to_pylist())
    return gzip.compress(lines.encode("utf-8"), compresslevel=6, mtime=0)  # mtime=0: no wall clock in the header


def _credit_label_bytes(ids: np.ndarray, values: np.ndarray, labeled_at_us: np.ndarray) -> bytes:
    return _parquet_bytes(pa.table({
        "request_id": pa.array(ids, type=pa.string()),
        "label": pa.array(values, type=pa.int64()),
        "labeled_at": _utc_timestamps(labeled_at_us),
    }))


def _house_label_bytes(ids: np.ndarray, values: np.ndarray, labeled_at_us: np.ndarray) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["request_id", "label", "labeled_at"])
    writer.writerows(zip(ids.tolist(), values.tolist(), _iso_utc(labeled_at_us).tolist(), strict=True))
    return buffer.getvalue().encode("utf-8")


def _llm_label_bytes(ids: np.ndarray, values: np.ndarray, labeled_at_us: np.ndarray) -> bytes:
    rows = zip(ids.tolist(), values.tolist(), _iso_utc(labeled_at_us).tolist(), strict=True)
    return "".join(_JSON.encode({"request_id": i, "label": v, "labeled_at": t}) + "\n" for i, v, t in rows).encode()


# ---------------------------------------------------------------------------------------------
# The three demo models and the generator


@dataclass(frozen=True)
class _DemoModel:
    """``draw_day(rng, count, window, day)`` gives a batch's rows and each request's truth (NaN: never labeled);
    ``day`` is None for the reference. ``volume`` scales ``rows_per_day``; ``reference_rows`` > 0 writes a
    reference file of that many clean rows."""

    name: str
    stream: int  # keeps the random streams of the models apart
    id_prefix: str
    inference_file: str
    label_file: str
    draw_day: Callable[[np.random.Generator, int, _Window, int | None], tuple[pa.Table, np.ndarray]]
    encode_inference: Callable[[pa.Table], bytes]
    encode_labels: Callable[[np.ndarray, np.ndarray, np.ndarray], bytes]
    volume: float = 1.0
    label_share: float = _LABEL_SHARE
    reference_rows: int = 0


def _credit_day(rng: np.random.Generator, count: int, window: _Window, day: int | None) -> tuple[pa.Table, np.ndarray]:
    return _credit_rows(rng, _draw_requests(rng, count, window, latency_spike=False), day)


def _house_day(rng: np.random.Generator, count: int, window: _Window, day: int | None) -> tuple[pa.Table, np.ndarray]:
    spike = _incident_day("house_price", "latency_error_spike", day) is not None
    return _house_rows(rng, _draw_requests(rng, count, window, latency_spike=spike), day)


_CREDIT = _DemoModel("credit_default", 1, "cd", "part-0000.parquet", "part-0000.parquet",
                     _credit_day, _parquet_bytes, _credit_label_bytes, reference_rows=REFERENCE_ROWS)
_HOUSE = _DemoModel("house_price", 2, "hp", "part-0000.jsonl.gz", "part-0000.csv",
                    _house_day, _jsonl_gzip_bytes, _house_label_bytes)
_LLM = _DemoModel("llm_assistant", 3, "llm", "part-0000.parquet", "part-0000.jsonl",
                  _llm_day, _parquet_bytes, _llm_label_bytes, volume=_LLM_VOLUME, label_share=_LLM_RATED_SHARE,
                  reference_rows=REFERENCE_ROWS)
_MODELS = (_CREDIT, _HOUSE, _LLM)

_ROWS, _LABELS, _REFERENCE = 0, 1, 2  # the random streams of one model-day


def _rng(seed: int, model: _DemoModel, day: int, purpose: int) -> np.random.Generator:
    return np.random.default_rng([seed, model.stream, day, purpose])


def _epoch_us(day: datetime.date) -> int:
    midnight = datetime.datetime.combine(day, datetime.time(), tzinfo=datetime.UTC)
    return (midnight - _EPOCH) // datetime.timedelta(microseconds=1)


def _rollout_us(start: datetime.date) -> int:
    return _epoch_us(start) + MODEL_V2_ROLLOUT // datetime.timedelta(microseconds=1)


def _partition(data_root: Path, model: _DemoModel, table: str, day: datetime.date, file_name: str) -> Path:
    return data_root / model.name / table / f"dt={day.isoformat()}" / file_name


def _write_model(data_root: Path, model: _DemoModel, *, start: datetime.date, days: int, rows_per_day: int,
                 seed: int) -> list[Path]:
    start_us = _epoch_us(start)
    written: list[Path] = []
    label_batches: list[_Labels] = []
    for day in range(days):
        date = start + datetime.timedelta(days=day)
        rng = _rng(seed, model, day, _ROWS)
        count = max(1, round(rows_per_day * model.volume * rng.uniform(0.9, 1.1)))
        window = _Window(f"{model.id_prefix}-{date:%Y%m%d}", start_us + day * _DAY_US, _DAY_US, _rollout_us(start))
        table, truth = model.draw_day(rng, count, window, day)
        path = _partition(data_root, model, "inference", date, model.inference_file)
        written.append(write_atomic(path, model.encode_inference(table)))
        label_batches.append(_draw_labels(_rng(seed, model, day, _LABELS), table.column("request_id").to_pylist(),
                                          truth, day, start_us, model.label_share))
    for day in range(1, days):  # labels arriving after the period have not happened yet
        ids, values, labeled_at = _labels_arriving(label_batches, day)
        if len(ids):
            path = _partition(data_root, model, "labels", start + datetime.timedelta(days=day), model.label_file)
            written.append(write_atomic(path, model.encode_labels(ids, values, labeled_at)))
    return written


def _write_reference(data_root: Path, model: _DemoModel, *, start: datetime.date, seed: int) -> Path:
    """A clean sample of the week before ``start``, from its own random stream."""
    week_us = 7 * _DAY_US
    window = _Window(f"{model.id_prefix}-ref", _epoch_us(start) - week_us, week_us, _rollout_us(start))
    table, truth = model.draw_day(_rng(seed, model, 0, _REFERENCE), model.reference_rows, window, None)
    # The reference carries its labels (NaN: never labeled): CBPE calibrates on them, label drift compares with them.
    table = table.append_column("label", pa.array(truth, from_pandas=True))
    return write_atomic(data_root / model.name / "reference" / "reference.parquet", _parquet_bytes(table))


def generate_demo(data_root: Path, *, start: datetime.date = DEMO_START, days: int = DEMO_DAYS,
                  rows_per_day: int = 2000, seed: int = 7) -> list[Path]:
    """Write the demo inference logs, labels and references under ``data_root``; return the files written.

    ``rows_per_day`` is the volume of credit_default and house_price; llm_assistant serves half as many.
    Files of an earlier run outside the generated period are left alone, never deleted.
    """
    if isinstance(start, datetime.datetime) or not isinstance(start, datetime.date):
        raise TypeError(f"start must be a datetime.date, got {start!r}")
    for name, value, minimum in (("days", days, 1), ("rows_per_day", rows_per_day, 1), ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    root = Path(data_root)
    written = [_write_reference(root, model, start=start, seed=seed) for model in _MODELS if model.reference_rows]
    for model in _MODELS:
        written += _write_model(root, model, start=start, days=days, rows_per_day=rows_per_day, seed=seed)
    return written
