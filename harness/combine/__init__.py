"""Combine: the run's combine stage (ensembles chosen on dev, the transfer
matrix, the judges LLM-judged combiners ask) and `nerbench ensemble` over
stored files. The candidate index and subset search are libraries (`index/`)."""
