"""Plan: a config expanded into jobs (backend×model × dataset:split × prompt format), prompts and demonstrations."""
