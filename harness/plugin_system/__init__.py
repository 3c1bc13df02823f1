"""The plugin system: hookspecs, the plugin manager, the plugin scaffold."""
