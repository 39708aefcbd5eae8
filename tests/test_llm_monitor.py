"""The LLM demo monitor (``llm_assistant``): its incidents are in the data where documented and nowhere else,
its budget check fails on the cost-overrun day and passes on every other day, and a Dagster run stores and
shows tokens, cost, throughput and errors by type.

Every expectation is measured here with pandas and numpy on the files, never with the generator's helpers.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from monitoring_jobs.config import load_monitor
from monitoring_jobs.demo_data import DEMO_DAYS, DEMO_START, INCIDENTS
from monitoring_jobs.metric_store import MetricStore
from monitoring_jobs.operations import compute_operations, cost_budget_check
from monitoring_jobs.settings import load_settings
from tests import test_dagster_pipeline
from tests.conftest import MONITORS_DIR
from tests.helpers import by_key
from tests.test_dagster_pipeline import check_evaluations, run_day

defs = test_dagster_pipeline.defs  # the same definitions fixture as the Dagster pipeline tests

MODEL = "llm_assistant"
USD_PER_1K_PROMPT, USD_PER_1K_COMPLETION = 0.0025, 0.01  # the demo provider's price list


def incident_days(kind: str) -> list[int]:
    found = next(i for i in INCIDENTS if i.model == MODEL and i.kind == kind)
    return list(range((found.first_day - DEMO_START).days, (found.last_day - DEMO_START).days + 1))


COST_OVERRUN = incident_days("cost_overrun")
SLOW = incident_days("slow_generation")
QUALITY_DROP = incident_days("quality_drop")
TRAFFIC_DROP = incident_days("traffic_drop")


def day_of(index: int) -> dt.date:
    return DEMO_START + dt.timedelta(days=index)


@pytest.fixture(scope="module")
def monitor():
    return load_monitor(MONITORS_DIR / f"{MODEL}.yaml")


@pytest.fixture(scope="module")
def days(demo_root) -> dict[int, pd.DataFrame]:
    return {i: pd.read_parquet(demo_root / f"data/{MODEL}/inference/dt={day_of(i)}/part-0000.parquet")
            for i in range(DEMO_DAYS)}


@pytest.fixture(scope="module")
def labels(demo_root) -> pd.DataFrame:
    frames = []
    for path in sorted((demo_root / f"data/{MODEL}/labels").glob("dt=*/part-0000.jsonl")):
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        frames.append(pd.DataFrame(rows).assign(arrival=dt.date.fromisoformat(path.parent.name.removeprefix("dt="))))
    return pd.concat(frames, ignore_index=True)


def test_the_incident_days_are_documented_and_distinct():
    assert COST_OVERRUN == [5] and SLOW == [9] and QUALITY_DROP == [17, 18, 19] and TRAFFIC_DROP == [23]


# --- the data ------------------------------------------------------------------------------------------------

def test_cost_is_the_bill_of_the_tokens_at_the_demo_prices(days):
    for day, frame in days.items():
        billed_prompt = np.where(frame["status"] == "rate_limited", 0, frame["prompt_tokens"])
        expected = (billed_prompt * USD_PER_1K_PROMPT + frame["completion_tokens"] * USD_PER_1K_COMPLETION) / 1000
        assert np.allclose(frame["cost_usd"], expected, rtol=0, atol=1e-8), day
        answered = frame["status"] == "ok"
        assert (frame.loc[~answered, "completion_tokens"] == 0).all()
        assert frame.loc[answered, ["quality_score", "confidence"]].notna().all().all()
        assert frame.loc[~answered, ["quality_score", "confidence"]].isna().all().all()
        assert set(frame["status"]) <= {"ok", "timeout", "rate_limited", "content_filter"}


def test_prompts_balloon_only_on_the_cost_overrun_day(days):
    for day, frame in days.items():
        documents, prompt = frame["retrieved_docs"].mean(), frame["prompt_tokens"].mean()
        if day in COST_OVERRUN:
            assert 14 < documents < 18 and prompt > 2.5 * np.median([f["prompt_tokens"].mean() for f in days.values()])
        else:
            assert 2.7 < documents < 3.3, day


def test_generation_is_slow_and_times_out_only_on_the_slow_day(days):
    for day, frame in days.items():
        errors = float((frame["status"] != "ok").mean())
        p95 = float(np.percentile(frame["latency_ms"], 95))
        timeouts = frame["status"] == "timeout"
        assert (frame.loc[timeouts, "latency_ms"] >= 30_000).all()
        assert (frame.loc[~timeouts, "latency_ms"] < 30_000).all()
        if day in SLOW:
            assert 0.09 < timeouts.mean() < 0.15 and p95 >= 30_000
        else:
            assert errors < 0.03 and p95 < 9_000, day


def test_quality_and_confidence_fall_only_on_the_quality_drop_days(days):
    clean = [d for d in days if d not in QUALITY_DROP]
    usual = np.mean([days[d]["quality_score"].mean() for d in clean])
    for day, frame in days.items():
        if day in QUALITY_DROP:
            assert frame["quality_score"].mean() < usual - 0.12 and frame["confidence"].mean() < 0.80
        else:
            assert abs(frame["quality_score"].mean() - usual) < 0.02 and frame["confidence"].mean() > 0.84, day


def test_a_client_outage_empties_the_daytime_hours_only_on_the_traffic_drop_day(days):
    counts = {day: len(frame) for day, frame in days.items()}
    for day, frame in days.items():
        hours = frame["timestamp"].dt.hour
        assert (frame["timestamp"].dt.date == day_of(day)).all()
        if day in TRAFFIC_DROP:
            assert not hours.between(8, 19).any() and hours.nunique() == 12
        else:
            assert hours.nunique() == 24, day
            # busier in the afternoon (UTC) than at night
            assert hours.between(12, 16).sum() > 2 * hours.between(0, 4).sum(), day
        earlier = [counts[d] for d in range(max(0, day - 7), day)]
        if earlier:
            ratio = counts[day] / np.mean(earlier)
            assert ratio < 0.4 if day in TRAFFIC_DROP else 0.7 < ratio < 1.3, (day, ratio)


def test_people_rate_about_thirty_percent_of_the_answers_one_to_seven_days_later(days, labels):
    requests = pd.concat([frame.assign(day=day) for day, frame in days.items()], ignore_index=True)
    rated = labels.merge(requests[["request_id", "status", "day"]], on="request_id", how="left", validate="one_to_one")
    assert (rated["status"] == "ok").all()  # no answer, nothing to rate
    delay = np.array([(arrival - day_of(day)).days for arrival, day in zip(rated["arrival"], rated["day"],
                                                                             strict=True)])
    assert delay.min() == 1 and delay.max() == 7
    assert rated["label"].between(0, 1).all()
    share = rated[rated["day"] < DEMO_DAYS - 7].groupby("day").size() / requests.groupby("day").size()
    assert share.dropna().between(0.25, 0.35).all()
    assert 900 <= np.median([len(f) for f in days.values()]) <= 1100  # half the volume of the other models


# --- the budget check on every day ---------------------------------------------------------------------------

def test_budget_check_fails_on_the_cost_overrun_day_and_passes_on_every_other_day(days, monitor):
    budget = monitor.operations.budget
    assert budget.severity.value == "ERROR"
    for day, frame in days.items():
        total, per_request = float(frame["cost_usd"].sum()), float(frame["cost_usd"].mean())
        over = total > budget.daily_usd or per_request > budget.per_request_usd
        assert over == (day in COST_OVERRUN), (day, total, per_request)
        metrics = compute_operations(frame, monitor)
        found = by_key(metrics)
        assert found[("daily_cost_usd", "")].value == pytest.approx(total, rel=1e-12)
        assert found[("cost_per_request_usd", "")].value == pytest.approx(per_request, rel=1e-12)
        check = cost_budget_check(metrics, budget)
        assert check.passed is not over and check.severity == "ERROR", day
        if over:
            assert total - budget.daily_usd >= 1  # so the overrun reads in dollars and cents
            assert (f"daily cost {total:,.2f} USD is {total - budget.daily_usd:,.2f} USD "
                    f"({total / budget.daily_usd - 1:.0%}) over the budget of {budget.daily_usd:,.2f} USD"
                    ) in check.description
            assert "cost per request" in check.description  # both ceilings are crossed
        else:
            assert check.description.startswith("Within budget: daily cost")


def test_volume_against_the_trailing_week_flags_only_the_traffic_drop_day(days, monitor):
    for day, frame in days.items():
        earlier = [len(days[d]) for d in range(max(0, day - 7), day)]
        volume = by_key(compute_operations(frame, monitor, earlier))[("volume_vs_trailing_mean", "")]
        if not earlier:
            assert volume.status.value == "missing"
            continue
        assert volume.value == pytest.approx(len(frame) / np.mean(earlier))
        assert volume.failed == (day in TRAFFIC_DROP), (day, volume.value)


# --- through Dagster -----------------------------------------------------------------------------------------

def operations_rows(day: dt.date) -> pd.DataFrame:
    return MetricStore(load_settings().db_url).read("operations", MODEL, day, day)


def test_dagster_fails_cost_budget_on_the_overrun_day_only_and_stores_the_llm_figures(defs, instance, days, project):
    clean, overrun = 3, COST_OVERRUN[0]
    clean_checks = check_evaluations(run_day(defs, instance, MODEL, day_of(clean)))
    assert clean_checks["cost_budget"].passed and clean_checks["operational_thresholds"].passed
    result = run_day(defs, instance, MODEL, day_of(overrun))
    checks = check_evaluations(result)
    budget = checks["cost_budget"]
    assert not budget.passed and budget.severity == dg.AssetCheckSeverity.ERROR
    total = float(days[overrun]["cost_usd"].sum())
    assert f"daily cost {total:,.2f} USD is {total - 10:,.2f} USD" in budget.description
    assert budget.metadata["daily_cost_usd"].value == pytest.approx(total)
    assert checks["operational_thresholds"].passed  # the cost is judged by cost_budget alone

    rows = operations_rows(day_of(overrun)).set_index(["metric", "segment"])
    frame = days[overrun]
    assert rows.loc[("daily_cost_usd", ""), "value"] == pytest.approx(total)
    assert rows.loc[("daily_cost_usd", ""), ["status", "threshold"]].tolist() == ["fail", 10.0]
    assert rows.loc[("prompt_tokens", ""), "value"] == frame["prompt_tokens"].sum()
    assert rows.loc[("completion_tokens_per_request", ""), "value"] == pytest.approx(frame["completion_tokens"].mean())
    hourly = rows.xs("requests_per_hour", level="metric")["value"]
    assert len(hourly) == 24 and hourly.sum() == len(frame)
    assert hourly.to_dict() == {f"hour={h:02d}": float(n)
                                for h, n in frame["timestamp"].dt.hour.value_counts().reindex(range(24), fill_value=0)
                                .items()}
    by_status = rows.xs("error_rate", level="metric")["value"].drop("")
    expected = frame.loc[frame["status"] != "ok", "status"].value_counts() / len(frame)
    assert by_status.to_dict() == pytest.approx({f"status={s}": v for s, v in expected.items()})
    assert rows.loc[("volume_vs_trailing_mean", ""), "value"] == pytest.approx(len(frame) / len(days[clean]))

    report = (project / "reports" / MODEL / day_of(overrun).isoformat() / "index.html").read_text(encoding="utf-8")
    operations = report[report.index('id="operations"'):]
    assert "cost_budget" in operations and "Over budget" in operations and "Daily cost" in operations
    shown = re.search(r'<th scope="row">Requests</th>(.*?)</tr>', operations).group(1)
    assert [int(n.replace(",", "")) for n in re.findall(r'<td class="num">([\d,]+)</td>', shown)] == \
        [int(hourly[f"hour={h:02d}"]) for h in range(24)]


def test_dagster_flags_slow_generation_and_the_quality_drop(defs, instance):
    slow = check_evaluations(run_day(defs, instance, MODEL, day_of(SLOW[0])))
    assert not slow["operational_thresholds"].passed
    assert slow["operational_thresholds"].severity == dg.AssetCheckSeverity.ERROR
    for name in ("error_rate", "latency_p95_ms"):
        assert name in slow["operational_thresholds"].description
    assert slow["cost_budget"].passed
    dropped = check_evaluations(run_day(defs, instance, MODEL, day_of(QUALITY_DROP[1])))
    assert not dropped["prediction_drift"].passed and "quality_score" in dropped["prediction_drift"].description
    assert not dropped["operational_thresholds"].passed
    assert "mean_confidence" in dropped["operational_thresholds"].description
    assert dropped["cost_budget"].passed
