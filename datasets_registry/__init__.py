"""Dataset manifests, the JSON Schema they obey, and the samples that ship."""
