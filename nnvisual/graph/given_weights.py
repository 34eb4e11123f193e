"""Models built to hold weights given right away (an inference copy, a network read from a
file): their variables skip the initializers whose values would be overwritten.

On JAX, a random initializer compiles one program per weight shape the first time it runs (0.14
to 0.34 s each on a 2-core CPU): 7 s for EfficientNet-Lite0 before any of a command's own work,
2.7 s for the study's network read from its run folder. Inside :func:`building`, layers create
their variables uninitialized (Keras' deferred initialization under
:class:`keras.StatelessScope`) and what is assigned to them (``set_weights``, a ``.keras``
file's weights) is recorded; where the block ends, each variable starts from its recorded
value, and only those never assigned run their own initializers, as they would have. A block
inside another stateless scope (a nested block) leaves all this to the outer one. A layer that
creates a variable from a value, not an initializer, cannot be built so (a stateless scope
refuses it): :func:`built` builds such a model again as usual.
"""

from __future__ import annotations

import contextlib

import keras

# Keras' registry of the variables created uninitialized in a stateless scope (keras.src:
# Keras exports neither the registry nor the scope test)
from keras.src.backend.common import global_state
from keras.src.backend.common.stateless_scope import in_stateless_scope

_REGISTRY = "uninitialized_variables"
_REFUSED = "while in a stateless scope"  # Keras' refusal of a variable made from a value


def built(make):
    """``make()``, which builds layers and gives them weights, inside :func:`building`; made
    again as usual where one of its layers creates a variable from a value."""
    try:
        with building():
            return make()
    except Exception as error:  # Keras' loader wraps the refusal in errors of its own
        if _REFUSED not in str(error):
            raise
    return make()


@contextlib.contextmanager
def building():
    """Build layers and give them weights inside; they hold those weights once it ends."""
    if in_stateless_scope():
        yield
        return
    try:
        with keras.StatelessScope(initialize_variables=False) as scope:
            yield
    except BaseException:
        global_state.set_global_attribute(_REGISTRY, [])  # a failed build's variables
        raise
    created = global_state.get_global_attribute(_REGISTRY) or []
    global_state.set_global_attribute(_REGISTRY, [])
    for variable in created:
        value = scope.get_current_value(variable)
        if value is None:
            variable._deferred_initialize()
        else:
            variable._initialize(value)
            variable._initializer = None
