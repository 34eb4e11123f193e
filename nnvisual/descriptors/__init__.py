"""Local descriptors and bags of visual words (docs/study.md, "Bag of visual words").

``sift`` (SIFT, dense SIFT), ``harris`` (Harris corners, repeatability), ``extract`` (many images
in parallel, cached), ``bow`` (the visual vocabulary), ``matching`` (ratio test + RANSAC) and
``stats`` (bootstrap intervals, paired test). ``nnvisual.steps.score_bow`` applies them to
reconstructions.
"""
