"""Configuration: the TOML run config, its JSON Schema, validation, the quick start config."""
