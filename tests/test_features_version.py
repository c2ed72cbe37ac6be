"""Profile features are built once per snapshot and kept: a normaliser that changes what they
hold without a new ``FEATURES_VERSION`` leaves every kept snapshot keyed by the old rules while
candidates are keyed by the new ones."""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl

from connect_pipeline.normalise.features import FEATURES_VERSION
from connect_pipeline.normalise.profiles import build_profile_features

# What a fixed sample of profiles normalises to, per FEATURES_VERSION. A change to a normaliser
# that moves this digest needs a new version (and its digest recorded here).
FEATURES_DIGEST = {"8": "de8bed9444e2b1df63ab5ec31658c8c33ae64e1edee00251a33b9487d21b4824"}


def _sample(path: Path) -> None:
    pl.DataFrame(
        {
            "profile_id": ["p1", "p2", "p3", "p4", "p5", "p6"],
            "first_name": ["Bill", None, "Łukasz", "𝐉𝐨𝐡𝐧", "Anh", "Priya"],
            "last_name": ["Gates", None, "Nowak", "𝐒𝐦𝐢𝐭𝐡", "Nguyễn", "Sharma (she/her)"],
            "full_name": ["Bill Gates", "Sasha Ivanova", "Łukasz Nowak", "𝐉𝐨𝐡𝐧 𝐒𝐦𝐢𝐭𝐡", "Anh Nguyễn", "Priya Sharma"],
            "current_title": ["Sr. SWE", None, "CTO", "Senior Data Engineer II", None, "Staff Engineer"],
            "current_company": ["Microsoft Corp.", None, "Acme, Inc.", "Globex GmbH", None, "Initech Pvt Ltd"],
            "past_companies": [["Microsoft", "Traf-O-Data"], None, ["ACME corporation", None], [], None, ["Initech"]],
            "location": ["Redmond, WA", "Moscow, Russia", None, "Greater London Area", "Remote", "Bengaluru, Karnataka, India"],
            "linkedin_url": ["https://www.linkedin.com/in/williamhgates/", None, "https://example.com",
                             "linkedin.com/in/John-Smith-1", None, "https://in.linkedin.com/in/priya%2Dsharma"],
            "emails": [["Bill@Example.com"], [], None, ["j.smith+work@gmail.com"], [], []],
            "phones": [["(425) 555-0100"], ["8 (495) 123-45-67"], [], ["+44 20 7946 0018"], [], ["+91 98450 12345"]],
            "updated_at": [None] * 6,
        },
        schema_overrides={"updated_at": pl.Datetime("us", "UTC")},
    ).write_parquet(path)


def test_the_features_version_changes_whenever_the_features_do(tmp_path: Path) -> None:
    _sample(tmp_path / "index.parquet")
    features = pl.read_parquet(build_profile_features(str(tmp_path / "index.parquet"), tmp_path / "f.parquet"))
    # given-name families (and how the family's name sounds) also follow the maintained nickname
    # source, which has its own version in the snapshot id (``profiles.profile_snapshot_id``)
    kept = features.drop("first_name_canonical", "first_name_phonetic").sort("unique_id")
    digest = hashlib.sha256(repr(kept.rows()).encode()).hexdigest()
    assert FEATURES_DIGEST.get(FEATURES_VERSION) == digest, (
        f"profile features changed under FEATURES_VERSION {FEATURES_VERSION!r}: bump it in "
        f"normalise/features.py and record {digest} for the new version here"
    )
