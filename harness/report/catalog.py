"""What is installed, as `nerbench datasets list` and `nerbench plugins`
show it: the registered datasets and the plugins with what they registered."""

from __future__ import annotations

import json
from typing import Any

from nerbench.data.check import read_available
from nerbench.data.sample import first
from nerbench.plugin_system.factory import dataset_split
from nerbench.plugin_system.manager import Registry


def dataset_infos(registry: Registry, read: bool = False) -> list[dict[str, Any]]:
    """Each registered dataset: id, language, labels, splits, what its
    plugin says of it (license, files here or to fetch, repairs) and the
    plugin. With `read`, every split that is here is read whole first, so
    its repairs and mappings are counted in full."""
    items = []
    for name in registry.names("datasets"):
        ds = registry.get("datasets", name)
        if read:
            read_available(ds)
        items.append({"id": name, "language": ds.language, "labels": [label.name for label in ds.labels],
                      "splits": list(ds.splits), **ds.describe(), "plugin": registry.provider("datasets", name)})
    return items


def plugin_infos(registry: Registry, show_all: bool) -> list[dict[str, Any]]:
    """Installed plugins (with `show_all`, nerbench's own and the manifests
    given too), each with its version, what it registered and its load error."""
    infos = [i for _, i in sorted(registry.plugins.items()) if show_all or not i.builtin]
    if not show_all:
        infos = [i for i in infos if not i.name.startswith("manifest ")]
    return [i.to_json() for i in infos]


def export_lines(registry: Registry, ref: str, limit: int | None) -> list[str]:
    """`nerbench datasets export`: the split "ID:SPLIT" as sentence JSONL
    lines, its first `limit` — the whole split read and checked first, so
    a bad line is an error before anything is written."""
    dataset, split = dataset_split(registry, ref)
    sentences = first(dataset, split, None)
    return [json.dumps(s.to_json(), ensure_ascii=False) + "\n" for s in sentences[:limit]]
