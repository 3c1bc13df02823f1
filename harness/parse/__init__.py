"""Parse and align: model answers → character spans → token spans."""
