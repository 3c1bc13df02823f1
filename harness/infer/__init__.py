"""Infer: jobs → requests → backends (through the cache), with retries, pools and the embedded llama.cpp server."""
