"""Paths that come from a manifest, a config or a name stay inside their
folder: manifests, configs and plugins come from strangers, and a path that
climbs out (`..`), starts at the root, or passes through a symlink that
leads out could read or replace any file the user can."""

from __future__ import annotations

from pathlib import Path, PurePath

from nerbench.errors import NerbenchError


def relative_parts(relative: str | PurePath, field: str) -> PurePath:
    """`relative` as a path that names something below its folder, checked
    without the folder (no absolute path, no `..` that climbs above it)."""
    rel = PurePath(relative)
    if rel.is_absolute() or rel.drive or str(relative).startswith(("/", "\\", "~")):
        raise NerbenchError(f"{field}: {str(relative)!r} is an absolute path; give one relative to its folder")
    depth = 0
    for part in rel.parts:
        depth += -1 if part == ".." else 0 if part == "." else 1
        if depth < 0:
            raise NerbenchError(f"{field}: {str(relative)!r} leads out of its folder (..)")
    if depth == 0:
        raise NerbenchError(f"{field}: {str(relative)!r} names the folder itself, not a file in it")
    return rel


def contained(base: Path, relative: str | PurePath, field: str) -> Path:
    """`base / relative`, refused with one line naming `field` when it is
    absolute, climbs out of `base`, or resolves (through symlinks) to a place
    outside `base`."""
    path = Path(base) / relative_parts(relative, field)
    root = Path(base).resolve()
    resolved = path.resolve()
    if resolved != root and root not in resolved.parents:
        raise NerbenchError(f"{field}: {str(relative)!r} leads out of {base} (through a symlink, to {resolved})")
    return path
