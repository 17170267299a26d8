#!/usr/bin/env python3
"""Run PassportEye on a folder of document images, for a side-by-side with `eval-documents`.

Not part of the tests. Needs Debian `tesseract-ocr` and PassportEye in a throwaway virtualenv:

    python3 -m venv /tmp/pe-venv && /tmp/pe-venv/bin/pip install passporteye==2.2.2
    /tmp/pe-venv/bin/python packaging/passporteye_compare.py ../shared/data/mrz-specimens

Prints, per image and in total: MRZ found, MRZ valid (every check digit and the composite),
and the time per image; `--json` prints one JSON object instead, with the MRZ lines PassportEye
returned (`mrzLines`), which `packaging/document_eval.py` scores against truth files.
"""

from __future__ import annotations

import json
import resource
import statistics
import sys
import time
import warnings
from pathlib import Path

# PassportEye 2.2.2 uses scikit-image calls that now warn on every image.
warnings.filterwarnings("ignore", category=FutureWarning)


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (tesseract runs as a child)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def mrz_lines(mrz) -> list[str]:
    """The zone's lines as PassportEye parsed them: its OCR text after its own clean-up."""
    from passporteye.mrz.text import MRZOCRCleaner

    raw = (mrz.aux or {}).get("raw_text") or ""
    lines = MRZOCRCleaner.apply(raw)
    return [lines] if isinstance(lines, str) else list(lines)


def mrz_fields(mrz) -> dict[str, str]:
    """PassportEye's own parse of the zone, under the names `document_eval.py` compares."""
    d = mrz.to_dict()
    clean = lambda v: " ".join(str(v or "").replace("<", " ").split())  # noqa: E731
    return {
        "code": clean(d.get("type")),
        "issuer": clean(d.get("country")),
        "number": clean(d.get("number")).replace(" ", ""),
        "nationality": clean(d.get("nationality")),
        "birth": str(d.get("date_of_birth") or ""),
        "sex": str(d.get("sex") or ""),
        "expiry": str(d.get("expiration_date") or ""),
        "surname": clean(d.get("surname")),
        "given": clean(d.get("names")),
    }


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
        if path.suffix.lower() not in {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}:
            continue
        start = time.perf_counter()
        cpu_start = cpu_seconds()
        try:
            mrz = read_mrz(str(path))
            error = None
        except Exception as exc:  # PassportEye raises on some inputs; count it as not found
            mrz, error = None, type(exc).__name__
        ms = (time.perf_counter() - start) * 1000
        cpu_ms = (cpu_seconds() - cpu_start) * 1000
        found = mrz is not None
        valid = bool(found and mrz.valid)
        items.append({
            "file": path.name,
            "mrzLines": mrz_lines(mrz) if found else [],
            "mrzFields": mrz_fields(mrz) if found else None,
            "mrzFound": found,
            "mrzValid": valid,
            "validScore": mrz.valid_score if found else 0,
            "format": mrz.mrz_type if found else None,
            "error": error,
            "ms": round(ms, 1),
            "cpuMs": round(cpu_ms, 1),
        })
    report = {
        "dir": str(folder),
        "images": len(items),
        "mrzFound": sum(i["mrzFound"] for i in items),
        "mrzValid": sum(i["mrzValid"] for i in items),
        "medianMs": round(statistics.median(i["ms"] for i in items), 1) if items else 0,
        "medianCpuMs": round(statistics.median(i["cpuMs"] for i in items), 1) if items else 0,
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
