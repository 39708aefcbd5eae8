"""`monitoring-jobs profile-reference`: the committed demo suites are exactly what profiling the demo gives."""

from __future__ import annotations

import pytest

from monitoring_jobs.cli import main
from monitoring_jobs.settings import load_settings
from monitoring_jobs.validation import load_suite
from tests.conftest import SUITES_DIR


@pytest.mark.parametrize("model", ["credit_default", "house_price", "llm_assistant"])
def test_profiling_the_demo_reference_reproduces_the_committed_suite(project, model, capsys):
    target = load_settings().suite_path(model)
    target.unlink()
    assert main(["profile-reference", model]) == 0
    assert str(target) in capsys.readouterr().out
    assert target.read_bytes() == (SUITES_DIR / f"{model}.json").read_bytes()
    suite = load_suite(target)
    assert {e.severity.value for e in suite.expectations} == {"WARN"}


def test_unknown_model_and_missing_reference_are_clear_errors(project, capsys):
    assert main(["profile-reference", "nope"]) == 2
    assert "no monitor named 'nope'" in capsys.readouterr().err
    assert main(["profile-reference", "house_price", "--day", "2026-10-01"]) == 1
    assert "no reference yet" in capsys.readouterr().err
