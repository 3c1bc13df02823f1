"""Score: entity-level metrics (seqeval strict is the oracle), bootstrap intervals and paired tests."""
