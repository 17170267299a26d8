#!/usr/bin/env python3
"""Run PassportEye on a folder of document images, for a side-by-side with `eval-documents`.

Not part of the tests. Needs Debian `tesseract-ocr` and PassportEye in a throwaway virtualenv:

    python3 -m venv /tmp/pe-venv && /tmp/pe-venv/bin/pip install passporteye==2.2.2
    /tmp/pe-venv/bin/python packaging/passporteye_compare.py ../shared/data/mrz-specimens

Prints, per image and in total: MRZ found, MRZ valid (every check digit and the composite),
and the time per image; `--json` prints one JSON object instead.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
import warnings
from pathlib import Path

# PassportEye 2.2.2 uses scikit-image calls that now warn on every image.
warnings.filterwarnings("ignore", category=FutureWarning)


def main() -> int:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    as_json = "--json" in sys.argv
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    from passporteye import read_mrz  # imported here so that --help works without it

    folder = Path(args[0])
    items = []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in {".jpg", ".jpeg", ".png"}:
            continue
        start = time.perf_counter()
        try:
            mrz = read_mrz(str(path))
            error = None
        except Exception as exc:  # PassportEye raises on some inputs; count it as not found
            mrz, error = None, type(exc).__name__
        ms = (time.perf_counter() - start) * 1000
        found = mrz is not None
        valid = bool(found and mrz.valid)
        items.append({
            "file": path.name,
            "mrzFound": found,
            "mrzValid": valid,
            "validScore": mrz.valid_score if found else 0,
            "format": mrz.mrz_type if found else None,
            "error": error,
            "ms": round(ms, 1),
        })
    report = {
        "dir": str(folder),
        "images": len(items),
        "mrzFound": sum(i["mrzFound"] for i in items),
        "mrzValid": sum(i["mrzValid"] for i in items),
        "medianMs": round(statistics.median(i["ms"] for i in items), 1) if items else 0,
        "items": items,
    }
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        for i in items:
            print(f'{i["file"]:<28} {"yes" if i["mrzFound"] else "no":>5} {str(i["format"]):>6} '
                  f'{"yes" if i["mrzValid"] else "no":>6} {i["ms"]:>8.0f}')
        print(f'total: {report["images"]} images, MRZ found {report["mrzFound"]}, valid '
              f'{report["mrzValid"]}, median {report["medianMs"]:.0f} ms')
    return 0


if __name__ == "__main__":
    sys.exit(main())
