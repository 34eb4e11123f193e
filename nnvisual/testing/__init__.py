"""Helpers for nnvisual's own tests and benchmarks (tests/, scripts/): tiny models and images,
readers and builders of run folders, the reference ports and the benchmark harness.

Not part of the public API: no module of the library imports this package
(tests/test_layering.py), and it may change with the tests. Optional reference libraries
(torch, timm, captum, pytorch-grad-cam) are imported only inside the modules and functions that
need them, so that importing the package needs none of them.
"""
