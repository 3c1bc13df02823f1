"""What is installed, as `nerbench datasets list` and `nerbench plugins`
show it: the registered datasets and the plugins with what they registered."""

from __future__ import annotations

from typing import Any

from nerbench.plugin_system.manager import Registry


def dataset_infos(registry: Registry) -> list[dict[str, Any]]:
    """Each registered dataset: id, language, labels, splits, what its
    plugin says of it (license, files here or to fetch, repairs) and the plugin."""
    items = []
    for name in registry.names("datasets"):
        ds = registry.get("datasets", name)
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
