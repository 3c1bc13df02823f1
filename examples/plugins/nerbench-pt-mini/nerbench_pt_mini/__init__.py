"""pt-mini: a bundled Portuguese dataset, registered from its manifest."""

from __future__ import annotations

from pathlib import Path

import nerbench

MANIFEST = Path(__file__).with_name("manifest.json")


@nerbench.hookimpl
def register_datasets(register):
    register("pt-mini", nerbench.ManifestDataset.from_file(MANIFEST))
