"""Domain rules that validation and the formulation both apply: written once, here.

Both take a record's values as a dict, before or after the Case applied its
defaults (a blank is None, or already the default).
"""

from __future__ import annotations


def fid_window(v: dict, start: int, end: int) -> tuple[int, int]:
    """First and last FID year of a candidate (DESIGN.md's W_p), from its record's values."""
    lead = v.get("lead_time_yr") or 0
    first = max(start, v.get("earliest_fid_year") or start)
    latest = v.get("latest_fid_year")
    last = end - lead if latest is None else min(latest, end - lead)
    return first, last


def eligible(fund: dict, region: str | None) -> bool:
    """Whether a project in `region` may receive aid from `fund` (blank = any, domestic, abroad, or a list)."""
    elig = fund.get("eligible_regions") or ()
    if not elig:
        return True
    if elig == ("domestic",):
        return region == fund.get("owner")
    if elig == ("abroad",):
        return region != fund.get("owner")
    return region in elig
