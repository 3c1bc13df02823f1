"""nerbench's built-in plugins, registered through the `nerbench` entry-point
group exactly as a third-party package's plugins are."""
