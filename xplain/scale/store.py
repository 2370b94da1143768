"""The output directory of ``explain_dataset``: Parquet parts, a manifest, a success flag.

    out/
      _manifest.json        what the run computes (its fingerprint) and how it is split
      part-000000.parquet   one file per finished partition (written to a temporary name,
      part-000001.parquet   then renamed: a part file is always complete)
      _SUCCESS              written once every partition is there

Each part's Parquet metadata (key ``xplain``) repeats the run's fingerprint with the
partition's index, rows and input fingerprint, so a part is known to be this run's.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from xplain.errors import DatasetOutputError

MANIFEST, SUCCESS = "_manifest.json", "_SUCCESS"
FORMAT = "xplain-dataset/1"
METADATA_KEY = b"xplain"


def part_name(index: int) -> str:
    return f"part-{index:06d}.parquet"


def prepare(directory: Path, manifest: dict[str, Any], *, resume: bool, overwrite: bool) -> None:
    """Make ``directory`` ready for the run ``manifest`` describes.

    A directory holding another run's manifest is refused unless ``overwrite``; with
    ``overwrite`` (or ``resume=False``) this run's old parts are deleted first.
    """
    if directory.exists() and not directory.is_dir():
        raise DatasetOutputError(f"The output {str(directory)!r} is a file; pass a directory.")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DatasetOutputError(f"Cannot create the output directory {str(directory)!r}: "
                                 f"{err}.") from err
    if not os.access(directory, os.W_OK | os.X_OK):
        raise DatasetOutputError(f"The output directory {str(directory)!r} is not writable.")
    old = None
    if (directory / MANIFEST).exists():
        try:
            old = read_manifest(directory)
        except DatasetOutputError as err:
            if not overwrite:
                raise DatasetOutputError(f"{err} Pass overwrite=True to replace it.") from err
    foreign = [p.name for p in directory.iterdir() if not _ours(p.name)]
    if old is None and foreign and not overwrite:
        raise DatasetOutputError(
            f"The output directory {str(directory)!r} holds other files "
            f"({', '.join(sorted(foreign)[:5])}); pass an empty or new directory, or "
            "overwrite=True to delete xplain's parts there."
        )
    before = old.get("fingerprint") if old is not None else None
    before = before if isinstance(before, dict) else {}
    if old is not None and before != manifest["fingerprint"] and not overwrite:
        now = manifest["fingerprint"]
        changed = sorted(key for key in set(before) | set(now) if before.get(key) != now.get(key))
        raise DatasetOutputError(
            f"The output directory {str(directory)!r} holds a run with other settings "
            f"(changed: {', '.join(changed)}); its parts cannot be resumed. Pass another "
            "directory, or overwrite=True to replace that run."
        )
    if overwrite or not resume or old is None:
        for path in directory.iterdir():
            if _ours(path.name) and path.is_file():
                path.unlink()
    write_json(directory / MANIFEST, manifest)


def read_manifest(directory: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
    except (OSError, ValueError) as err:
        raise DatasetOutputError(
            f"{str(directory)!r} has no readable {MANIFEST} ({err}); it is not an "
            "explain_dataset output."
        ) from err
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise DatasetOutputError(
            f"{str(directory / MANIFEST)!r} is not an xplain dataset manifest ({FORMAT})."
        )
    return manifest


def finished_part(directory: Path, index: int, input_hash: str, fingerprint: dict) -> bool:
    """Whether partition ``index`` is on disk, of this run and of this input."""
    path = directory / part_name(index)
    if not path.exists():
        return False
    try:
        meta = part_metadata(path)
    except (OSError, ValueError):  # a truncated or foreign file: compute it again
        return False
    return meta.get("input_hash") == input_hash and meta.get("fingerprint") == fingerprint


def part_metadata(path: Path) -> dict[str, Any]:
    raw = pq.read_schema(path).metadata or {}
    return json.loads(raw.get(METADATA_KEY, b"{}"))


def write_part(directory: Path, index: int, table: pa.Table, metadata: dict[str, Any]) -> None:
    """Write partition ``index`` atomically: to a temporary name, then renamed."""
    table = table.replace_schema_metadata(
        {**(table.schema.metadata or {}), METADATA_KEY: json.dumps(metadata).encode()}
    )
    final = directory / part_name(index)
    temporary = directory / f".{final.name}.{uuid.uuid4().hex}.tmp"
    try:
        pq.write_table(table, temporary)
        os.replace(temporary, final)
    except OSError as err:  # a full disk, a directory removed meanwhile...
        raise DatasetOutputError(
            f"Writing {final.name} to {str(directory)!r} failed ({err}); the parts written "
            "before it are kept: fix the cause and rerun with resume=True."
        ) from err
    finally:
        if temporary.exists():
            temporary.unlink()


def write_json(path: Path, data: dict[str, Any]) -> None:
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    temporary.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(temporary, path)


def _ours(name: str) -> bool:
    """Files explain_dataset writes (and may delete)."""
    return (name in (MANIFEST, SUCCESS) or (name.startswith("part-") and name.endswith(".parquet"))
            or (name.startswith(".") and name.endswith(".tmp")))
