"""Names of weight matrices: wdecay's index and the book's.

wdecay numbers weight matrices from 1 (``layer1/rms`` is the matrix from the
input layer to the first hidden layer). Nielsen's book numbers *neuron layers*
from 1, the input layer included, and calls the weights into neuron layer
l+1 ``w^{l+1}``. So wdecay's layer l is the book's w^(l+1), the weights into
the book's layer l+1: in ``[784, 30, 10]`` wdecay's layer 1 (784 -> 30) is the
book's w^2, and a student's "layer 2 shrinks, layer 3 grows" is wdecay's
"layer 1 shrank, layer 2 grew".

Examples
--------
>>> layer_label(1, [784, 30, 10])
"layer 1 (the book's w^2, 784 -> 30)"
>>> book_name(2)
'w^3'
>>> layer_shape_text(2, [784, 30, 10])
'30 -> 10'
"""

from __future__ import annotations

__all__ = ["book_name", "layer_shape_text", "layer_label"]


def book_name(layer):
    """The book's name of wdecay's weight matrix ``layer`` (from 1): ``w^(layer + 1)``."""
    layer = int(layer)
    if layer < 1:
        raise ValueError(f"`layer` must be >= 1 (wdecay numbers weight matrices from 1), "
                         f"got {layer}")
    return f"w^{layer + 1}"


def layer_shape_text(layer, sizes):
    """``"n_in -> n_out"`` of weight matrix ``layer`` (from 1) in a network of ``sizes``."""
    layer = int(layer)
    if not 1 <= layer < len(sizes):
        raise ValueError(f"`layer` must be in 1..{len(sizes) - 1} for sizes {list(sizes)}, "
                         f"got {layer}")
    return f"{sizes[layer - 1]} -> {sizes[layer]}"


def layer_label(layer, sizes):
    """Both names of weight matrix ``layer``: ``"layer 1 (the book's w^2, 784 -> 30)"``."""
    return f"layer {int(layer)} (the book's {book_name(layer)}, {layer_shape_text(layer, sizes)})"
