"""The time zone of a scheme, which gives a date alone (an in-force date) its instant.

A scheme records its region (ISO 3166: ``CN-GD``, ``HK``, ``MO``), not a time zone; a column of
its own would change the ``scheme.registered`` ledger entry, which is frozen. So the zone is
the region's civil time, for the regions whose time is one zone, and UTC for every other
region (the documented default: an EU-wide scheme, say, states its times with an offset).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, tzinfo
from zoneinfo import ZoneInfo

__all__ = ["DEFAULT_TIME_ZONE", "region_time_zone", "start_of_day"]

DEFAULT_TIME_ZONE: tzinfo = UTC

# Regions with a single civil time (country, or country-subdivision for a whole country).
_ZONES = {
    "CN": "Asia/Shanghai",
    "HK": "Asia/Hong_Kong",
    "MO": "Asia/Macau",
    "TW": "Asia/Taipei",
    "SG": "Asia/Singapore",
    "JP": "Asia/Tokyo",
    "KR": "Asia/Seoul",
}


def region_time_zone(region: str) -> tzinfo:
    """The civil time zone of an ISO 3166 region (``CN-GD`` is ``CN``'s), else UTC."""
    name = _ZONES.get(region.split("-", 1)[0].upper())
    return DEFAULT_TIME_ZONE if name is None else ZoneInfo(name)


def start_of_day(value: datetime | date, region: str) -> datetime:
    """``value`` as an aware instant: a datetime as it is, a date as the start of that day in
    the region's time zone."""
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, time(0), tzinfo=region_time_zone(region)).astimezone(UTC)
