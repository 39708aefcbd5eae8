"""Monitor configuration: one YAML file per monitored model under ``assets/monitors/``.

Adding a model means adding a file here, never code. Every error names the file and the
field that is wrong, so a typo is a one-line fix instead of a stack trace.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

MONITOR_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
SUPPORTED_SCHEMES = ("file", "s3")


class ConfigError(ValueError):
    """A monitor configuration is invalid; the message names the file and the field."""


class Severity(StrEnum):
    """How bad a failed check is. ERROR blocks the assets downstream of a validation check."""

    WARN = "WARN"
    ERROR = "ERROR"


class Task(StrEnum):
    BINARY_CLASSIFICATION = "binary_classification"
    MULTICLASS_CLASSIFICATION = "multiclass_classification"
    REGRESSION = "regression"


class FileFormat(StrEnum):
    PARQUET = "parquet"
    JSONL = "jsonl"
    CSV = "csv"


class _Strict(BaseModel):
    """Unknown keys are errors: a misspelt option must not be silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_uri(uri: str, *, needs_date: bool) -> str:
    match = re.match(r"^([a-z][a-z0-9+.-]*)://(.+)$", uri)
    if not match:
        raise ValueError(
            f"'{uri}' is not a URI; write file://relative/path, file:///absolute/path or s3://bucket/prefix"
        )
    if match.group(1) not in SUPPORTED_SCHEMES:
        raise ValueError(f"scheme '{match.group(1)}' is not supported; use one of {', '.join(SUPPORTED_SCHEMES)}")
    if needs_date and "{date}" not in uri:
        raise ValueError(f"'{uri}' has no {{date}} placeholder, so days cannot be told apart")
    unknown = set(re.findall(r"\{([^}]*)\}", uri)) - {"date", "model"}
    if unknown:
        raise ValueError(f"unknown placeholder(s) {sorted(unknown)} in '{uri}'; only {{date}} and {{model}} exist")
    return uri


class DataSource(_Strict):
    """Where one day of data lives: a URI template with ``{date}`` (YYYY-MM-DD) and optional ``{model}``."""

    uri: str
    format: FileFormat = FileFormat.PARQUET

    @field_validator("uri")
    @classmethod
    def _uri_has_date(cls, uri: str) -> str:
        return _check_uri(uri, needs_date=True)


class LabelSource(DataSource):
    """Ground truth arrives in its own daily partitions, keyed by request id, up to ``max_delay_days`` late."""

    max_delay_days: int = Field(default=7, ge=0, le=365)


class Columns(_Strict):
    """The role each column of the inference log plays. Only ``request_id`` and ``timestamp`` are always required."""

    request_id: str = "request_id"
    timestamp: str = "timestamp"
    model_version: str | None = None
    prediction: str | None = None
    score: str | None = None
    label: str = "label"
    latency_ms: str | None = None
    status: str | None = None
    prompt_tokens: str | None = None
    completion_tokens: str | None = None
    cost_usd: str | None = None
    numeric_features: list[str] = Field(default_factory=list)
    categorical_features: list[str] = Field(default_factory=list)
    segments: list[str] = Field(default_factory=list)

    @property
    def features(self) -> list[str]:
        return [*self.numeric_features, *self.categorical_features]

    def declared(self) -> set[str]:
        """Every column name the config mentions for the inference log (the label lives in its own files)."""
        singles = [self.request_id, self.timestamp, self.model_version, self.prediction, self.score,
                   self.latency_ms, self.status, self.prompt_tokens, self.completion_tokens, self.cost_usd]
        return {c for c in singles if c} | set(self.features) | set(self.segments)

    @model_validator(mode="after")
    def _no_feature_twice(self) -> Columns:
        seen: set[str] = set()
        for name in self.features:
            if name in seen:
                raise ValueError(f"feature '{name}' is listed twice")
            seen.add(name)
        return self


class Reference(_Strict):
    """What today's data is compared with: a fixed file, or the previous ``window_days`` days."""

    kind: Literal["file", "rolling"] = "rolling"
    uri: str | None = None
    format: FileFormat = FileFormat.PARQUET
    window_days: int = Field(default=7, ge=1, le=366)

    @model_validator(mode="after")
    def _file_needs_uri(self) -> Reference:
        if self.kind == "file":
            if not self.uri:
                raise ValueError("a reference of kind 'file' needs a 'uri'")
            _check_uri(self.uri, needs_date=False)
        return self


NUMERIC_DRIFT_METHODS = ("ks", "wasserstein", "cramervonmises", "anderson", "psi", "jensenshannon", "hellinger")
CATEGORICAL_DRIFT_METHODS = ("chi2", "g_test", "z_test", "psi", "jensenshannon", "hellinger", "total_variation",
                             "linf")
"""Methods a column of each kind may be judged by (``monitoring_jobs.drift.methods`` implements each one)."""
NumericMethod = Literal["auto", "ks", "wasserstein", "cramervonmises", "anderson", "psi", "jensenshannon",
                        "hellinger"]
CategoricalMethod = Literal["auto", "chi2", "g_test", "z_test", "psi", "jensenshannon", "hellinger",
                            "total_variation", "linf"]
P_VALUE_METHODS = frozenset({"ks", "cramervonmises", "anderson", "chi2", "g_test", "z_test"})
"""Tests: drift when the p-value is below the threshold. Every other method is a distance: drift at or above it."""


class DriftThresholds(_Strict):
    """p-value thresholds (drift when p < value) for tests, distance thresholds (drift when >= value) otherwise."""

    ks: float = Field(default=0.05, gt=0, lt=1)
    cramervonmises: float = Field(default=0.05, gt=0, lt=1)
    anderson: float = Field(default=0.05, gt=0, lt=1)
    chi2: float = Field(default=0.05, gt=0, lt=1)
    g_test: float = Field(default=0.05, gt=0, lt=1)
    z_test: float = Field(default=0.05, gt=0, lt=1)
    wasserstein: float = Field(default=0.1, gt=0)
    jensenshannon: float = Field(default=0.1, gt=0, le=1)
    hellinger: float = Field(default=0.1, gt=0, le=1)
    total_variation: float = Field(default=0.1, gt=0, le=1)
    linf: float = Field(default=0.1, gt=0, le=1)
    psi: float = Field(default=0.2, gt=0)


class FeatureDriftOverride(_Strict):
    """One column's own method, threshold (in that method's units) or calibration switch."""

    method: str | None = None
    threshold: float | None = Field(default=None, gt=0)
    calibrate: bool | None = None


class DriftCalibration(_Strict):
    """Thresholds learnt from the reference: each statistic over reference chunks, mean + ``k_std`` std.

    Chunks are the reference's UTC days (by ``columns.timestamp``); a reference without timestamps, or
    covering fewer than three days, is cut into ``chunks`` equal parts in row order instead. ``enabled``
    switches the per-feature bands on; the chunks and ``k_std`` also give the multivariate band.
    """

    enabled: bool = False
    chunks: int = Field(default=10, ge=3, le=1000)
    k_std: float = Field(default=3.0, gt=0)


class MultivariateDrift(_Strict):
    """PCA reconstruction error of all features together (NannyML's data reconstruction drift)."""

    enabled: bool = True
    variance: float = Field(default=0.65, gt=0, lt=1)


class DriftConfig(_Strict):
    """How drift is decided. ``auto`` follows Evidently's defaults: tests on small references, distances on large.

    ``features`` overrides the method, threshold or calibration of single columns (features, the model
    output or the label); ``multiple_testing`` corrects the p-values of the features judged by tests.
    """

    numeric_method: NumericMethod = "auto"
    categorical_method: CategoricalMethod = "auto"
    thresholds: DriftThresholds = Field(default_factory=DriftThresholds)
    features: dict[str, FeatureDriftOverride] = Field(default_factory=dict)
    multiple_testing: Literal["bh", "bonferroni", "none"] = "bh"
    calibration: DriftCalibration = Field(default_factory=DriftCalibration)
    multivariate: MultivariateDrift = Field(default_factory=MultivariateDrift)
    dataset_drift_share: float = Field(default=0.5, gt=0, le=1)
    severity: Severity = Severity.WARN


def _check_drift_features(monitor: MonitorConfig) -> None:
    """``drift.features`` must name a compared column, with a method that suits its kind."""
    cols = monitor.columns
    kinds = {name: "numeric" for name in cols.numeric_features}
    kinds.update({name: "categorical" for name in cols.categorical_features})
    output = cols.score if monitor.task is Task.BINARY_CLASSIFICATION else cols.prediction
    if output:
        kinds[output] = "categorical" if monitor.task is Task.MULTICLASS_CLASSIFICATION else "numeric"
    kinds[cols.label] = "numeric" if monitor.task is Task.REGRESSION else "categorical"
    for name, override in monitor.drift.features.items():
        if name not in kinds:
            raise ValueError(f"drift.features: unknown column '{name}'; list a feature, the model output "
                             f"or the label ({', '.join(kinds)})")
        allowed = NUMERIC_DRIFT_METHODS if kinds[name] == "numeric" else CATEGORICAL_DRIFT_METHODS
        if override.method is not None and override.method not in allowed:
            raise ValueError(f"drift.features.{name}.method: '{override.method}' does not apply to a "
                             f"{kinds[name]} column; use one of {', '.join(allowed)}")
        if override.threshold is not None and override.method in P_VALUE_METHODS and override.threshold >= 1:
            raise ValueError(f"drift.features.{name}.threshold: {override.threshold:g} is a p-value threshold "
                             "for a test and must be below 1")


class Bound(_Strict):
    """An acceptable range for one metric; either end may be open."""

    min: float | None = None
    max: float | None = None
    severity: Severity = Severity.WARN

    @model_validator(mode="after")
    def _one_end(self) -> Bound:
        if self.min is None and self.max is None:
            raise ValueError("give 'min', 'max' or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self

    def violated_by(self, value: float) -> bool:
        """NaN (no data to judge) violates nothing; callers report it as missing instead."""
        if value != value:  # NaN
            return False
        return (self.min is not None and value < self.min) or (self.max is not None and value > self.max)


CLASSIFICATION_METRICS = ("roc_auc", "pr_auc", "accuracy", "precision", "recall", "f1", "log_loss", "brier_score",
                          "ece")
"""Binary classifier quality, each with a confidence interval; the confusion matrix counts come beside them."""
MULTICLASS_METRICS = ("accuracy", "precision", "recall", "f1", "f1_weighted", "log_loss")
"""Multiclass quality: precision, recall and ``f1`` are macro averages; per-class precision and recall come beside."""
REGRESSION_METRICS = ("mae", "rmse", "mape", "r2", "mean_error", "residual_p05", "residual_p25", "residual_p50",
                      "residual_p75", "residual_p95")
"""Regression quality; ``mean_error`` and the residual quantiles are of ``label - prediction`` (positive: too low)."""
ESTIMATED_METRICS = ("estimated_roc_auc", "estimated_accuracy", "estimated_precision", "estimated_recall",
                     "estimated_f1")
"""A binary classifier's performance estimated without labels (CBPE), from scores calibrated on the reference."""
LOWER_IS_BETTER = frozenset({"log_loss", "brier_score", "ece", "mae", "rmse", "mape"})
DEFAULT_SEGMENT_METRIC = {Task.BINARY_CLASSIFICATION: "roc_auc", Task.MULTICLASS_CLASSIFICATION: "f1",
                          Task.REGRESSION: "mae"}
OPERATIONAL_METRICS = ("row_count", "volume_vs_trailing_mean", "peak_requests_per_hour", "latency_p50_ms",
                       "latency_p95_ms", "latency_p99_ms", "error_rate", "mean_confidence", "confidence_p05",
                       "confidence_p25", "confidence_p50", "confidence_p75", "confidence_p95",
                       "prompt_tokens_per_request", "completion_tokens_per_request")
"""Whole-day operational figures a config may bound under ``operations.thresholds``; cost has ``operations.budget``."""


class PerformanceConfig(_Strict):
    """Thresholds on performance metrics, judged once at least ``min_labels`` labels have arrived.

    Every quality figure carries a ``confidence_level`` interval (Wilson for accuracy, precision and recall;
    order statistics for residual quantiles; a seeded percentile bootstrap of ``bootstrap_resamples`` for the
    rest), and a bound judges the interval, not the point: a figure fails only when its whole interval is on
    the wrong side (for a ``min``, the upper end is below it). A point outside with an interval reaching back
    inside is reported as too few labels to tell, so 40 labels do not raise the alarm 40,000 would.

    Segments: every value of each ``columns.segments`` column with at least ``segment_min_support`` labeled
    rows gets the metrics; ``worst_segment_<segment_metric>`` and ``segment_gap_<segment_metric>`` (best minus
    worst) are judged by ``segment_thresholds``. ``class_probability_columns`` maps each class of a multiclass
    model to the column with its probability, for log loss. ``estimate_without_labels`` runs CBPE for binary
    classifiers when the reference carries labels.
    """

    positive_label: int | str = 1
    decision_threshold: float = Field(default=0.5, gt=0, lt=1)
    min_labels: int = Field(default=30, ge=1)
    thresholds: dict[str, Bound] = Field(default_factory=dict)
    confidence_level: float = Field(default=0.95, ge=0.5, lt=1)
    bootstrap_resamples: int = Field(default=300, ge=50, le=10_000)
    bootstrap_seed: int = Field(default=0, ge=0)
    calibration_bins: int = Field(default=10, ge=2, le=100)
    segment_min_support: int = Field(default=30, ge=1)
    segment_metric: str | None = None
    segment_thresholds: dict[str, Bound] = Field(default_factory=dict)
    class_probability_columns: dict[str, str] = Field(default_factory=dict)
    estimate_without_labels: bool = True

    def fairness_metric(self, task: Task) -> str:
        """The metric compared across segments: ``segment_metric``, else the task's usual one."""
        return self.segment_metric or DEFAULT_SEGMENT_METRIC[task]


def performance_metric_names(task: Task) -> tuple[str, ...]:
    """The quality metrics computed for a task (label coverage and counts aside)."""
    if task is Task.BINARY_CLASSIFICATION:
        return CLASSIFICATION_METRICS
    return MULTICLASS_METRICS if task is Task.MULTICLASS_CLASSIFICATION else REGRESSION_METRICS


def _check_performance(task: Task, settings: PerformanceConfig, segments: list[str]) -> None:
    """Threshold names must be metrics the task reports; segment settings must name something that exists."""
    if task is Task.REGRESSION:
        known = REGRESSION_METRICS
    else:  # a multiclass bound on a binary-only metric is reported as not computed, not refused
        known = tuple(dict.fromkeys((*CLASSIFICATION_METRICS, *MULTICLASS_METRICS)))
    if task is Task.BINARY_CLASSIFICATION:
        known = (*known, *ESTIMATED_METRICS)
    unknown = set(settings.thresholds) - set(known) - {"label_coverage"}
    if unknown:
        raise ValueError(f"performance.thresholds: unknown metric(s) {sorted(unknown)} for a "
                         f"{task.value} model; known: {', '.join((*known, 'label_coverage'))}")
    comparable = [name for name in performance_metric_names(task)
                  if name != "mean_error" and not name.startswith("residual_")]
    metric = settings.fairness_metric(task)
    if metric not in comparable:
        raise ValueError(f"performance.segment_metric: '{metric}' cannot be compared across segments of a "
                         f"{task.value} model; use one of {', '.join(comparable)}")
    allowed = {f"worst_segment_{metric}", f"segment_gap_{metric}"}
    unknown = set(settings.segment_thresholds) - allowed
    if unknown:
        raise ValueError(f"performance.segment_thresholds: unknown name(s) {sorted(unknown)}; with segment_metric "
                         f"'{metric}' they are {' and '.join(sorted(allowed))}")
    if settings.segment_thresholds and not segments:
        raise ValueError("performance.segment_thresholds: there are no segments to compare; list columns under "
                         "columns.segments")
    if settings.class_probability_columns and task is not Task.MULTICLASS_CLASSIFICATION:
        raise ValueError("performance.class_probability_columns: only a multiclass model has one probability "
                         "per class; a binary classifier's is columns.score")


class Pricing(_Strict):
    """What the provider charges, for an LLM monitor that logs tokens but not the cost of each request."""

    usd_per_1k_prompt_tokens: float = Field(ge=0)
    usd_per_1k_completion_tokens: float = Field(ge=0)


class Budget(_Strict):
    """Cost ceilings in US dollars; a day over either one fails the ``cost_budget`` check."""

    daily_usd: float | None = Field(default=None, gt=0)
    per_request_usd: float | None = Field(default=None, gt=0)
    severity: Severity = Severity.WARN

    @model_validator(mode="after")
    def _one_ceiling(self) -> Budget:
        if self.daily_usd is None and self.per_request_usd is None:
            raise ValueError("give 'daily_usd', 'per_request_usd' or both")
        return self


class OperationsConfig(_Strict):
    """Thresholds on operational metrics; ``ok_statuses`` are the status values that mean success.

    ``pricing`` turns logged tokens into cost when the log has no cost column; ``budget`` judges the cost.
    """

    ok_statuses: list[str] = Field(default_factory=lambda: ["ok"])
    thresholds: dict[str, Bound] = Field(default_factory=dict)
    pricing: Pricing | None = None
    budget: Budget | None = None

    @field_validator("thresholds")
    @classmethod
    def _known_metrics(cls, thresholds: dict[str, Bound]) -> dict[str, Bound]:
        unknown = set(thresholds) - set(OPERATIONAL_METRICS)
        if unknown:
            known = ", ".join(OPERATIONAL_METRICS)
            cost = " (cost is judged by operations.budget)" if any("cost" in name for name in unknown) else ""
            raise ValueError(f"unknown operational metric(s) {sorted(unknown)}{cost}; known: {known}")
        return thresholds


class Range(_Strict):
    min: float | None = None
    max: float | None = None


VALIDATION_CHECKS = ("schema", "schema_drift", "nulls", "ranges", "categories", "unique_request_ids", "volume",
                     "volume_trend", "freshness", "prediction_range", "model_versions")
"""Every validation check, in the order they are reported. Each is one Dagster asset check."""

ValidationCheck = Literal["schema", "schema_drift", "nulls", "ranges", "categories", "unique_request_ids", "volume",
                          "volume_trend", "freshness", "prediction_range", "model_versions"]


class VolumeTrend(_Strict):
    """The day's row count against the mean of the previous ``window_days`` days (those that have data)."""

    window_days: int = Field(default=7, ge=1, le=90)
    min_ratio: float = Field(default=0.5, ge=0)
    max_ratio: float | None = Field(default=2.0, gt=0)


class ValidationConfig(_Strict):
    """Great Expectations rules. Each group is one Dagster asset check with its own severity.

    Rules profiled from the reference (``monitoring-jobs profile-reference MODEL``) live in a
    reviewable suite file beside the monitors and add to these; explicit rules here win.
    """

    min_rows: int = Field(default=1, ge=0)
    max_null_fraction: float = Field(default=0.05, ge=0, le=1)
    null_fraction_overrides: dict[str, Annotated[float, Field(ge=0, le=1)]] = Field(default_factory=dict)
    ranges: dict[str, Range] = Field(default_factory=dict)
    categories: dict[str, list[str]] = Field(default_factory=dict)
    unique_request_ids: bool = True
    volume_trend: VolumeTrend = Field(default_factory=VolumeTrend)
    max_out_of_day_fraction: float = Field(default=0.01, ge=0, le=1)
    prediction_range: Range | None = None
    model_versions: list[str] | None = None
    severities: dict[ValidationCheck, Severity] = Field(default_factory=dict)
    engine: Literal["great_expectations", "direct"] = "great_expectations"
    """Who evaluates the rules: Great Expectations, or the same expectations computed directly
    (``validation/direct_runner.py``: identical results, several times faster on days of millions of rows)."""

    def severity_of(self, check: str) -> Severity:
        """Schema, nulls and volume break the statistics downstream, so they block by default."""
        default = Severity.ERROR if check in {"schema", "nulls", "volume"} else Severity.WARN
        return self.severities.get(check, default)  # type: ignore[call-overload]


class AlertRoute(_Strict):
    """Where failed checks of at least ``min_severity`` go. Webhook URLs, SMTP servers and passwords come
    from the environment, never from here; an email route names its recipients in ``to``."""

    channel: Literal["log", "webhook", "email"]
    min_severity: Severity = Severity.WARN
    to: list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _email_needs_recipients(self) -> AlertRoute:
        if self.channel == "email" and not self.to:
            raise ValueError("an email route needs 'to': a list of addresses")
        if self.channel != "email" and self.to:
            raise ValueError(f"'to' only applies to email routes, not '{self.channel}'")
        return self


class MonitorConfig(_Strict):
    """Everything the pipeline needs to know about one monitored model."""

    name: Annotated[str, Field(pattern=MONITOR_NAME_PATTERN)]
    description: str = ""
    task: Task
    start_date: dt.date
    inference: DataSource
    labels: LabelSource | None = None
    columns: Columns
    reference: Reference = Field(default_factory=Reference)
    drift: DriftConfig = Field(default_factory=DriftConfig)
    performance: PerformanceConfig = Field(default_factory=PerformanceConfig)
    operations: OperationsConfig = Field(default_factory=OperationsConfig)
    validation: ValidationConfig = Field(default_factory=ValidationConfig)
    alerts: list[AlertRoute] = Field(default_factory=lambda: [AlertRoute(channel="log")])
    alert_cooldown_days: int = Field(default=2, ge=0, le=90)
    """After a check recovers, a new failure within this many days is recorded but does not page again."""

    @model_validator(mode="after")
    def _consistent(self) -> MonitorConfig:
        cols = self.columns
        if not cols.features:
            raise ValueError("columns: list at least one of numeric_features or categorical_features")
        if self.task is Task.BINARY_CLASSIFICATION and not cols.score:
            raise ValueError("columns.score: a binary classifier needs the score (probability of the positive class)")
        if self.task is not Task.BINARY_CLASSIFICATION and not cols.prediction:
            raise ValueError(f"columns.prediction: a {self.task.value} model needs its prediction column")
        declared = cols.declared()
        for field, names in (("validation.ranges", self.validation.ranges),
                             ("validation.categories", self.validation.categories),
                             ("validation.null_fraction_overrides", self.validation.null_fraction_overrides)):
            for name in names:
                if name not in declared:
                    raise ValueError(f"{field}: unknown column '{name}'; declare it under 'columns' first")
        _check_cost_source(cols, self.operations)
        _check_performance(self.task, self.performance, cols.segments)
        _check_drift_features(self)
        return self

    @property
    def is_classifier(self) -> bool:
        return self.task is not Task.REGRESSION

    @property
    def tracks_cost(self) -> bool:
        """The log says what each request cost, or its tokens and ``operations.pricing`` do."""
        return bool(self.columns.cost_usd) or self.operations.pricing is not None


def _check_cost_source(cols: Columns, operations: OperationsConfig) -> None:
    """Exactly one way to know the cost: a logged cost column, or tokens priced by ``operations.pricing``."""
    if operations.pricing is not None:
        if cols.cost_usd:
            raise ValueError("operations.pricing: columns.cost_usd already gives the cost of each request; "
                             "remove one of the two")
        missing = [f"columns.{role}" for role in ("prompt_tokens", "completion_tokens") if not getattr(cols, role)]
        if missing:
            raise ValueError(f"operations.pricing: declare {' and '.join(missing)} so the tokens can be priced")
    if operations.budget is not None and not cols.cost_usd and operations.pricing is None:
        raise ValueError("operations.budget: there is no cost to judge; declare columns.cost_usd, or "
                         "operations.pricing with columns.prompt_tokens and columns.completion_tokens")


def _format_validation_error(path: Path, error: ValidationError) -> str:
    lines = [f"{path}: invalid monitor configuration"]
    for item in error.errors():
        loc = ".".join(str(part) for part in item["loc"]) or "(top level)"
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "missing":
            message = "required field is missing"
        elif item["type"] == "extra_forbidden":
            message = "unknown field (check the spelling)"
        lines.append(f"  {loc}: {message}")
    return "\n".join(lines)


def load_monitor(path: str | Path) -> MonitorConfig:
    """Parse and validate one monitor file; raise ConfigError naming the file and field on any problem."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read monitor configuration ({exc.strerror})") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    except (ValueError, LookupError, AttributeError, RecursionError) as exc:
        # PyYAML's scalar constructors raise these instead of YAMLError on values such as 2026-02-30,
        # !!bool maybe, !!float "" or !!timestamp x; deep nesting exhausts Python's recursion limit.
        raise ConfigError(f"{path}: not valid YAML: a value cannot be read ({type(exc).__name__}: {exc})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a monitor configuration must be a mapping of fields, got {type(raw).__name__}")
    try:
        return MonitorConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(path, exc)) from None


def load_monitors(directory: str | Path) -> list[MonitorConfig]:
    """Load every ``*.yaml``/``*.yml`` monitor in ``directory``; all problems are reported together."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ConfigError(f"{directory}: monitor folder not found; set MONITORING_MONITORS_DIR or create it")
    monitors: list[MonitorConfig] = []
    errors: list[str] = []
    for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
        try:
            monitors.append(load_monitor(path))
        except ConfigError as exc:
            errors.append(str(exc))
    names = [m.name for m in monitors]
    errors += [f"{directory}: two monitors are named '{n}'" for n in sorted({n for n in names if names.count(n) > 1})]
    if errors:
        raise ConfigError("\n".join(errors))
    return monitors
