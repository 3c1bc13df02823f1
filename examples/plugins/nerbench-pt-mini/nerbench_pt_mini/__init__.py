"""pt-mini: a bundled Portuguese dataset, registered from its manifest."""

from __future__ import annotations

from pathlib import Path

from nerbench import api

MANIFEST = Path(__file__).with_name("manifest.json")


@api.hookimpl
def register_datasets(register):
    register("pt-mini", api.ManifestDataset.from_file(MANIFEST))
