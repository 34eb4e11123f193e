"""An atlas of a network's channels (OpenAI Microscope's kind of pages, for any Keras model;
docs/atlas.md): what each channel of the chosen layers responds to.

- :mod:`.scan`: one pass over a dataset for every layer: each channel's strongest and weakest
  images (the scan of ``deconv --top9``, :func:`nnvisual.deconv.projector.batch_candidates`) and
  its activation statistics;
- :mod:`.channels`: feature visualizations of a block of channels, all optimized as one batch
  in one compiled step (lucid's recipe, :mod:`nnvisual.optvis`);
- :mod:`.stats`: how strongly a channel's visualizations excite it against its strongest
  dataset example;
- :mod:`.classes`: the classes a channel feeds most, where its weights into the logits are direct;
- :mod:`.index`, :mod:`.pages`: the search index and the HTML pages (text; the command layer
  writes them).
"""
