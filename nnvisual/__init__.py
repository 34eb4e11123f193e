"""nnvisual: see what a convolutional network has learned.

A reproduction, and extension, of Reda & Xu (2019), "Visualizing and Interpreting Neural
Networks": training two small CIFAR-10 networks, DeconvNet projections (Zeiler & Fergus 2014),
class reconstruction by activation maximization (Chollet 2016) and descriptor-based scoring
(SIFT, Harris, bag of visual words; Sivic & Zisserman 2009).
"""

__version__ = "0.1.0"
