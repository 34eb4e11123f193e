"""TensorFlow's "same" padding, which Keras uses on every backend (one home for the model
builder, the receptive-field arithmetic and the shifted depthwise convolution)."""


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """Pixels (before, after) that "same" adds on one axis of ``size`` pixels: the output has
    ``ceil(size / stride)`` positions, the odd pixel goes after."""
    total = max((-(-size // stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2
