"""Profiles on disk: one small JSON file per model-day, written atomically, and references merged from them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path

from monitoring_jobs.profiles.profile import DayProfile, ProfileError, merge_all
from monitoring_jobs.storage import write_atomic


class ProfileNotFoundError(ProfileError):
    """No stored profile for the requested day(s)."""


def profile_path(state_dir: Path, model: str, day: dt.date) -> Path:
    """``<state>/profiles/<model>/<YYYY-MM-DD>.json``."""
    return Path(state_dir) / "profiles" / model / f"{day.isoformat()}.json"


def save_profile(path: Path, profile: DayProfile) -> Path:
    """Replace the file at ``path`` in one step: a re-run of the day leaves one complete profile, never half of one."""
    return write_atomic(Path(path), profile.to_bytes())


def load_profile(path: Path) -> DayProfile:
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ProfileNotFoundError(f"no profile at {path}; profile that day first") from None
    try:
        return DayProfile.from_bytes(data)
    except ProfileError as exc:
        raise ProfileError(f"{path}: {exc}; delete the file and profile that day again") from None


def load_reference(state_dir: Path, model: str, days: Iterable[dt.date]) -> DayProfile:
    """Merge the stored profiles of ``days`` (a rolling window): one small file per day, no raw logs read.

    Days without a stored profile (not run yet, or blocked by validation) are left out; the result's
    ``days`` says which were merged. Raises ProfileNotFoundError when none of them has one.
    """
    days = list(days)
    paths = [profile_path(state_dir, model, day) for day in days]
    found = [load_profile(path) for path in paths if path.is_file()]
    if not found:
        shown = f"{days[0].isoformat()} to {days[-1].isoformat()}" if days else "an empty window"
        raise ProfileNotFoundError(f"no stored profile of {model} for {shown} under "
                                   f"{Path(state_dir) / 'profiles' / model}; run those days first")
    return merge_all(found)
