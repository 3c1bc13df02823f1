"""Infer: a model session — jobs → requests → backends through the cache,
with retries, in-flight caps, circuit breakers, pools, Ray placement and
races. The embedded llama.cpp server is `nerbench.llama`."""
