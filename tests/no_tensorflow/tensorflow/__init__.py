"""A stand-in that makes ``import tensorflow`` fail.

Put ``tests/no_tensorflow`` first on ``PYTHONPATH`` to run a process as if TensorFlow were not
installed: what runs on the JAX or PyTorch backend must not need it.
"""

raise ImportError("TensorFlow is hidden for this test")
