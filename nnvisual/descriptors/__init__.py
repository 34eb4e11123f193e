"""Local descriptors and bag-of-visual-words scoring of reconstructions (PAPER.md "Descriptors").

``sift`` (SIFT, dense SIFT), ``harris`` (Harris corners, repeatability), ``extract`` (many images
in parallel, cached), ``bow`` (the visual vocabulary), ``matching`` (ratio test + RANSAC),
``stats`` (bootstrap intervals, paired test) and ``scoring`` (all of them on reconstructions).
"""
