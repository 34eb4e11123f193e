"""The study's steps, one module each: ``train``, ``deconv``, ``maximize``, ``score_bow``.

Each step computes and returns a result (arrays and dataclasses, no files written) and turns a
result into table rows (``*_table`` functions returning ``(header, rows)``). The methods they
apply live in :mod:`nnvisual.training`, :mod:`nnvisual.deconv`, :mod:`nnvisual.optvis` and
:mod:`nnvisual.descriptors`; the command layer (:mod:`nnvisual.commands`) parses options,
resolves run folders and inputs, calls a step and writes its result through :mod:`nnvisual.runs`.
"""
