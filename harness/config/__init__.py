"""Configuration: the TOML run config, its JSON Schema, validation, the
quick start config, the command line's overrides and `--option` pairs.
Plugin options are checked by `nerbench.plugin_system.factory`."""
