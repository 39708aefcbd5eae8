"""Monitor configs: the shipped ones load, and every kind of mistake names the file and the field."""

from __future__ import annotations

import textwrap

import pytest

from monitoring_jobs.config import ConfigError, MonitorConfig, Task, load_monitor, load_monitors
from tests.conftest import MONITORS_DIR

VALID = textwrap.dedent("""\
    name: churn
    task: binary_classification
    start_date: 2026-01-01
    inference: {uri: "file://data/{model}/inference/dt={date}/"}
    columns:
      score: score
      numeric_features: [tenure]
      categorical_features: [plan]
      segments: [plan]
    validation:
      ranges: {tenure: {min: 0}}
""")


def write(tmp_path, text: str, name: str = "churn.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_shipped_monitors_load_and_differ_in_task():
    monitors = load_monitors(MONITORS_DIR)
    assert {m.task for m in monitors} >= {Task.BINARY_CLASSIFICATION, Task.REGRESSION}
    assert all(isinstance(m, MonitorConfig) for m in monitors)


def test_valid_config_loads_with_defaults(tmp_path):
    monitor = load_monitor(write(tmp_path, VALID))
    assert monitor.columns.features == ["tenure", "plan"]
    assert monitor.reference.kind == "rolling"
    assert monitor.validation.severity_of("nulls").value == "ERROR"
    assert monitor.validation.severity_of("ranges").value == "WARN"


@pytest.mark.parametrize(
    ("old", "new", "field", "words"),
    [
        ("task: binary_classification\n", "", "task", "required field is missing"),
        ("validation:\n", "validation:\n  categories: {country: [fr]}\n", "validation.categories",
         "unknown column 'country'"),
        ("  ranges: {tenure: {min: 0}}\n", "  ranges: {age: {min: 0}}\n", "validation.ranges", "unknown column 'age'"),
        ('inference: {uri: "file://data/{model}/inference/dt={date}/"}\n',
         'inference: {uri: "ftp://host/{date}/"}\n', "inference.uri", "scheme 'ftp' is not supported"),
        ('inference: {uri: "file://data/{model}/inference/dt={date}/"}\n',
         'inference: {uri: "file://data/inference/"}\n', "inference.uri", "no {date} placeholder"),
        ('inference: {uri: "file://data/{model}/inference/dt={date}/"}\n',
         'inference: {uri: "data/{date}"}\n', "inference.uri", "is not a URI"),
        ("start_date: 2026-01-01\n", "start_date: 2026-01-01\nthreshold: 3\n", "threshold", "unknown field"),
        ("name: churn\n", "name: Churn Model\n", "name", "pattern"),
        ("  score: score\n", "", "columns.score", "needs the score"),
    ],
)
def test_mistakes_name_file_and_field(tmp_path, old, new, field, words):
    assert old in VALID
    path = write(tmp_path, VALID.replace(old, new))
    with pytest.raises(ConfigError) as caught:
        load_monitor(path)
    message = str(caught.value)
    assert str(path) in message
    assert field in message
    assert words in message


@pytest.mark.parametrize("text", ["name: [unclosed", "- just\n- a list\n", "", "\x00\x01"])
def test_malformed_yaml_is_a_config_error(tmp_path, text):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=str(path)):
        load_monitor(path)


def test_folder_reports_every_bad_file_and_duplicate_names(tmp_path):
    write(tmp_path, VALID, "a.yaml")
    write(tmp_path, VALID, "b.yaml")
    write(tmp_path, VALID.replace("task: binary_classification\n", ""), "c.yaml")
    with pytest.raises(ConfigError) as caught:
        load_monitors(tmp_path)
    message = str(caught.value)
    assert "c.yaml" in message and "two monitors are named 'churn'" in message


def test_missing_folder_says_what_to_do(tmp_path):
    with pytest.raises(ConfigError, match="MONITORING_MONITORS_DIR"):
        load_monitors(tmp_path / "nope")
