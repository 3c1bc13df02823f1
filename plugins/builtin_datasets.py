"""The datasets whose manifests ship in nerbench's `datasets_registry/`."""

from __future__ import annotations

import nerbench


@nerbench.hookimpl
def register_datasets(register):
    for path in nerbench.bundled_manifests():
        dataset = nerbench.ManifestDataset.from_file(path)
        register(dataset.id, dataset)
