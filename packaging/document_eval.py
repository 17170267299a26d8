#!/usr/bin/env python3
"""Score MRZ readers on real specimen images against truth files written by reading each image.

Not part of the tests: it compares two readers' JSON reports on the same images.

    target/release/kyc-kiosk eval-documents DIR --json > ours.json
    /tmp/pe-venv/bin/python packaging/passporteye_compare.py DIR --json > passporteye.json
    python3 packaging/document_eval.py tests/data/mrz-specimens.truth.json DIR \\
        --ours ours.json --passporteye passporteye.json [--markdown]

Truth: a JSON object whose `images` map a file name to its `sha256`, the MRZ `mrz` exactly as
printed (one string per line) and `mrzValid` (whether its check digits compute as printed; a
misprinted specimen has false). Every image's hash is checked before it is scored; an image
that is missing or differs is left out and said so.

Per reader and image: the MRZ read exactly as printed (every line, every character), the MRZ
valid as the truth says it should be (a reader that calls a misprinted zone valid is wrong),
and nine MRZ fields (document code, issuing state, document number, nationality, birth date,
sex, expiry, primary and secondary identifiers) from the reader's own parse of its zone when
its report has one (`mrzFields`, PassportEye's), else by position from the lines it returned,
against the same fields of the printed lines; and its time per image.
"""

from __future__ import annotations

import hashlib
import json
import statistics
import sys
from pathlib import Path

FIELDS = ("code", "issuer", "number", "nationality", "birth", "sex", "expiry", "surname", "given")


def check_digit(text: str) -> str:
    weights = (7, 3, 1)
    total = 0
    for i, ch in enumerate(text):
        if ch.isdigit():
            v = int(ch)
        elif ch.isalpha():
            v = ord(ch) - ord("A") + 10
        else:
            v = 0
        total += v * weights[i % 3]
    return str(total % 10)


def fields_of(lines: list[str]) -> dict[str, str] | None:
    """The nine fields by position, or None when the lines fit no ICAO 9303 layout."""
    if not lines:
        return None
    n, width = len(lines), len(lines[0])
    if any(len(line) != width for line in lines):
        return None
    if n == 3 and width == 30:  # TD1
        a, b, c = lines
        number, names = a[5:14], c
        birth, sex, expiry, nationality = b[0:6], b[7], b[8:14], b[15:18]
    elif n == 2 and width in (36, 44):  # TD2 / MRV-B, TD3 / MRV-A
        a, b = lines
        number, names = b[0:9], a[5:]
        nationality, birth, sex, expiry = b[10:13], b[13:19], b[20], b[21:27]
    else:
        return None
    surname, _, given = names.partition("<<")
    clean = lambda s: " ".join(s.replace("<", " ").split())  # noqa: E731
    return {
        "code": clean(a[0:2]),
        "issuer": clean(a[2:5]),
        "number": number.replace("<", ""),
        "nationality": clean(nationality),
        "birth": birth,
        "sex": sex,
        "expiry": expiry,
        "surname": clean(surname),
        "given": clean(given),
    }


def valid_as_printed(lines: list[str]) -> bool:
    """Every check digit of the printed zone computes (TD1, TD2, TD3; visas have no composite)."""
    n, width = len(lines), len(lines[0])
    if n == 3:
        a, b, _ = lines
        checks = [(a[5:14], a[14]), (b[0:6], b[6]), (b[8:14], b[14]),
                  (a[5:30] + b[0:7] + b[8:15] + b[18:29], b[29])]
    else:
        b = lines[1]
        checks = [(b[0:9], b[9]), (b[13:19], b[19]), (b[21:27], b[27])]
        if lines[0][0] != "V":
            if width == 44:
                checks += [(b[28:42], b[42]), (b[0:10] + b[13:20] + b[21:43], b[43])]
            else:
                checks += [(b[0:10] + b[13:20] + b[21:35], b[35])]
    ok = True
    for text, digit in checks:
        want = check_digit(text)
        # An all-filler optional field may print `<` for its check digit.
        ok &= digit == want or (digit == "<" and set(text) <= {"<"})
    return ok


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_items(path: str | None) -> dict[str, dict]:
    if not path:
        return {}
    report = json.loads(Path(path).read_text())
    return {item["file"]: item for item in report["items"]}


def score(truth: dict, item: dict | None) -> dict:
    lines = (item or {}).get("mrzLines") or []
    want = fields_of(truth["mrz"])
    # A reader's own parse of its zone when it reports one (PassportEye's), else the fields by
    # position in the lines it returned.
    got = (item or {}).get("mrzFields") or fields_of(lines) or {}
    right = sum(1 for f in FIELDS if want is not None and got.get(f) == want[f])
    return {
        "found": bool(item and item.get("mrzFound")),
        "exact": lines == truth["mrz"],
        "validRight": bool(item and item.get("mrzValid")) == truth["mrzValid"],
        "fields": right,
        "ms": (item or {}).get("ms"),
        "cpuMs": (item or {}).get("cpuMs"),
        "lines": lines,
    }


def main() -> int:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    opts = sys.argv[1:]
    if len(args) < 2:
        print(__doc__, file=sys.stderr)
        return 2

    def opt(name: str) -> str | None:
        return opts[opts.index(name) + 1] if name in opts and opts.index(name) + 1 < len(opts) else None

    truth_all = json.loads(Path(args[0]).read_text())["images"]
    folder = Path(args[1])
    readers = {"kyc-kiosk": load_items(opt("--ours")), "PassportEye": load_items(opt("--passporteye"))}
    readers = {k: v for k, v in readers.items() if v}
    rows, skipped = [], []
    for name, truth in sorted(truth_all.items()):
        path = folder / name
        if not path.exists():
            skipped.append(f"{name}: missing")
            continue
        if sha256(path) != truth["sha256"]:
            skipped.append(f"{name}: sha256 differs from the truth file's")
            continue
        printed_valid = valid_as_printed(truth["mrz"])
        if printed_valid != truth["mrzValid"]:
            print(f"truth file: {name} says mrzValid={truth['mrzValid']}, its check digits say "
                  f"{printed_valid}", file=sys.stderr)
            return 1
        rows.append((name, {r: score(truth, items.get(name)) for r, items in readers.items()}))
    n = len(rows)
    summary = {}
    for r in readers:
        scores = [s[r] for _, s in rows]
        times = [s["ms"] for s in scores if s["ms"] is not None]
        cpus = [s["cpuMs"] for s in scores if s["cpuMs"] is not None]
        summary[r] = {
            "images": n,
            "mrzFound": sum(s["found"] for s in scores),
            "mrzExact": sum(s["exact"] for s in scores),
            "validityRight": sum(s["validRight"] for s in scores),
            "fieldsRight": sum(s["fields"] for s in scores),
            "fields": n * len(FIELDS),
            "medianMs": round(statistics.median(times), 1) if times else None,
            "worstMs": round(max(times), 1) if times else None,
            "medianCpuMs": round(statistics.median(cpus), 1) if cpus else None,
            "worstCpuMs": round(max(cpus), 1) if cpus else None,
        }
    if "--json" in opts:
        print(json.dumps({"summary": summary, "skipped": skipped,
                          "items": [{"file": f, **s} for f, s in rows]}, indent=2))
        return 0
    names = list(readers)
    head = "| image | " + " | ".join(f"{r}: exact / valid as printed / fields / ms" for r in names) + " |"
    print(head)
    print("|---" * (len(names) + 1) + "|")
    for f, s in rows:
        cells = []
        for r in names:
            x = s[r]
            ms = "—" if x["ms"] is None else f'{x["ms"]:.0f}'
            cells.append(f'{"yes" if x["exact"] else "no"} / {"yes" if x["validRight"] else "no"} / '
                         f'{x["fields"]}/{len(FIELDS)} / {ms}')
        print(f"| `{f}` | " + " | ".join(cells) + " |")
    print()
    for r, t in summary.items():
        cpu = "" if t["medianCpuMs"] is None else (
            f', CPU median {t["medianCpuMs"]:.0f} ms, worst {t["worstCpuMs"]:.0f} ms')
        print(f'{r}: {t["images"]} images, MRZ found {t["mrzFound"]}, exact {t["mrzExact"]}, '
              f'validity as printed {t["validityRight"]}, fields {t["fieldsRight"]}/{t["fields"]} '
              f'({100 * t["fieldsRight"] / max(t["fields"], 1):.1f} %), wall median '
              f'{t["medianMs"]} ms, worst {t["worstMs"]} ms{cpu}')
    for s in skipped:
        print(f"skipped {s}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
