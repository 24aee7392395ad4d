"""The joint upper-secondary admission region and its municipality codes.

Codes are 4-character strings everywhere. Membership is fixed by the region's agreement
(domain.md §1); clusters come from ``data/manual/clusters.csv``, where each row says whether
the grouping is published or assumed.
"""
from __future__ import annotations

import re

STOCKHOLM_COUNTY = "01"

COUNTY_MUNICIPALITIES: tuple[str, ...] = (
    "0114", "0115", "0117", "0120", "0123", "0125", "0126", "0127", "0128", "0136",
    "0138", "0139", "0140", "0160", "0162", "0163", "0180", "0181", "0182", "0183",
    "0184", "0186", "0187", "0188", "0191", "0192",
)
HABO = "0305"
GNESTA = "0461"
ADMISSION_REGION: tuple[str, ...] = COUNTY_MUNICIPALITIES + (HABO, GNESTA)

KOMMUN_KOD = re.compile(r"^\d{4}$")


def is_region_member(code: str) -> bool:
    return code in ADMISSION_REGION


def check_kommun(code) -> str:
    """The code if it is one of the admission region's municipalities; else a clear error."""
    from .errors import ParameterError
    if not isinstance(code, str) or code not in ADMISSION_REGION:
        raise ParameterError(f"kommun {code!r} is not in the admission region; valid codes: "
                             + ", ".join(sorted(ADMISSION_REGION)))
    return code
