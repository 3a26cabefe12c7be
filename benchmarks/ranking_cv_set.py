"""A second ranking set in the ranking-dev format, from cv-arxiv-daily's six topic lists (a check against tuning to one set).

Run from the repository root: ``python -m benchmarks.ranking_cv_set --out DIR`` then
``python -m benchmarks.ranking --data DIR``. Positives are the ids of
../shared/fixtures/paper-lists/Vincentqyw_cv-arxiv-daily.json that occur in ranking-dev's days (on the
first day each appears); the days folder is linked, not copied. The keywords were written for each
topic before any positive was read, as a researcher in the field would subscribe; they were not
tuned afterwards. Caveat: cv-arxiv-daily builds its lists with arXiv keyword searches, so they hold
off-topic hits (recall cannot reach 1) and favour literal keyword matches.
"""
from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures"
LISTS = SHARED / "paper-lists" / "Vincentqyw_cv-arxiv-daily.json"
DAYS = SHARED / "ranking-dev" / "days"
CATEGORIES = ["cs.CV", "cs.RO", "cs.GR"]
KEYWORDS = {
    "SLAM": ["SLAM", "simultaneous localization and mapping", "visual odometry", "loop closure", "mapping"],
    "SFM": ["structure from motion", "SfM", "bundle adjustment", "multi-view reconstruction", "camera pose estimation"],
    "Visual Localization": ["visual localization", "camera relocalization", "place recognition", "pose regression", "localization"],
    "Keypoint Detection": ["keypoint detection", "keypoints", "feature detection", "interest points", "descriptor"],
    "Image Matching": ["image matching", "feature matching", "correspondence", "local features", "matcher"],
    "NeRF": ["NeRF", "neural radiance field", "novel view synthesis", "radiance field", "Gaussian splatting"],
}


def first_days(days: Path) -> dict[str, str]:
    """arXiv id -> the first day it was announced in the days folder."""
    first: dict[str, str] = {}
    for path in sorted(days.glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as rows:
            for line in rows:
                if line.strip():
                    first.setdefault(json.loads(line)["id"], path.name[:10])
    return first


def build(out: Path) -> dict[str, int]:
    """Write profiles.json, positives.json and a days link into `out`; returns positives per profile."""
    lists = json.loads(LISTS.read_text(encoding="utf-8"))
    first = first_days(DAYS)
    profiles, positives = [], {}
    for topic, ids in lists.items():
        name = topic.lower().replace(" ", "-")
        by_day: dict[str, list[str]] = {}
        for arxiv_id in sorted({raw.split("v")[0] for raw in ids}):
            if arxiv_id in first:
                by_day.setdefault(first[arxiv_id], []).append(arxiv_id)
        if by_day:
            profiles.append({"name": name, "keywords": KEYWORDS[topic], "categories": CATEGORIES})
            positives[name] = by_day
    out.mkdir(parents=True, exist_ok=True)
    (out / "profiles.json").write_text(json.dumps(profiles, indent=1), encoding="utf-8")
    (out / "positives.json").write_text(json.dumps(positives, indent=1), encoding="utf-8")
    if not (out / "days").exists():
        (out / "days").symlink_to(DAYS, target_is_directory=True)
    return {name: sum(map(len, days.values())) for name, days in positives.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="folder to write (ranking-dev format)")
    counts = build(parser.parse_args().out)
    print(", ".join(f"{name}: {count} positives" for name, count in counts.items()))


if __name__ == "__main__":
    main()
