"""A classifier's head: its last layer (inside nested models too) and that layer's activation,
which decide where the class scores the methods explain are read."""

from __future__ import annotations

from nnvisual.errors import UserError


def final_layer(model):
    """``model``'s last layer, or, when that is a nested model, the nested model's own last
    layer (recursively)."""
    from nnvisual import graph

    last = model.layers[-1]
    return final_layer(last) if graph.is_nested(last) else last


def check_scores_outside_nested(model) -> None:
    """UserError when ``model`` ends in a nested model that does not end linearly (e.g. a
    ``keras.applications`` classifier with its top, wrapped in a Sequential with
    preprocessing): its class scores would be read after the softmax inside it, not before
    (the methods explain the logits)."""
    last, final = model.layers[-1], final_layer(model)
    if final is not last and activation_name(final) != "linear":
        raise UserError(f"{model.name} ends in the nested model '{last.name}', whose last layer "
                        f"'{final.name}' has a {activation_name(final)} activation: the class "
                        "scores cannot yet be read before it; give that model itself (in Python "
                        "with the outer layers' preprocessing as preprocess=)")


def activation_name(layer) -> str | None:
    """The name of ``layer``'s activation function (``relu``, ``softmax``...), or None."""
    activation = getattr(layer, "activation", None)
    return getattr(activation, "__name__", None) if activation is not None else None
