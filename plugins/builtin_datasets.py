"""The datasets whose manifests ship in nerbench's `datasets_registry/`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nerbench import api


@api.hookimpl
def register_datasets(register: Callable[[str, Any], None]) -> None:
    for path in api.bundled_manifests():
        dataset = api.ManifestDataset.from_file(path)
        register(dataset.id, dataset)
