"""The datasets whose manifests ship in nerbench's `datasets_registry/`."""

from __future__ import annotations

from nerbench import api


@api.hookimpl
def register_datasets(register):
    for path in api.bundled_manifests():
        dataset = api.ManifestDataset.from_file(path)
        register(dataset.id, dataset)
