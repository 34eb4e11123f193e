"""nnvisual's evaluation metrics agree with Quantus 0.6 on the same arrays and, for the metrics
that query a model, the same weights (the ``vgg`` twin): deterministic metrics to 1e-5, sampling
ones within nnvisual's bootstrap interval. The stored fixture lets the suite compare without
Quantus; where Quantus imports, a second test recomputes it live."""

import importlib.util

import numpy as np
import pytest

from nnvisual.descriptors.stats import bootstrap_interval
from nnvisual.evaluation import complexity, faithfulness, localisation, robustness
from nnvisual.testing import evaluation_reference as reference
from nnvisual.testing import twin_networks


@pytest.fixture(scope="module")
def network():
    from nnvisual.attribution.network import Network

    return Network(twin_networks.keras_network("vgg", twin_networks.weights("vgg")))


def compare(theirs, network):
    data = reference.arrays()
    classes = theirs["classes"]
    np.testing.assert_array_equal(network.logits(data["x"]).argmax(axis=1), classes)
    signed = reference.task(network, data, classes, data["signed"])
    np.testing.assert_allclose(complexity.gini(data["signed"]), theirs["sparseness"], rtol=1e-5)
    np.testing.assert_allclose(complexity.entropy(data["signed"]), theirs["complexity"], rtol=1e-5)
    located = reference.task(network, data, classes, data["positive"], masks=data["masks"])
    for name in ("pointing_game", "relevance_mass_accuracy", "relevance_rank_accuracy"):
        np.testing.assert_allclose(getattr(localisation, name)(located), theirs[name], rtol=1e-5,
                                   err_msg=name)
    assert 0 < theirs["pointing_game"].mean() < 1
    # Quantus flips channel values: every third of its points holds whole pixels, as ours do
    np.testing.assert_allclose(faithfulness.pixel_flipping_curve(signed)[:, 1:],
                               theirs["pixel_flipping"][:, 2::3], rtol=1e-5, atol=1e-5)
    # Quantus returns the drop after each region; their mean is the AOPC
    np.testing.assert_allclose(faithfulness.region_perturbation(signed),
                               theirs["region_perturbation"].mean(axis=1), rtol=1e-5, atol=1e-5)
    ours = faithfulness.linear_imputation(data["x"][0], data["keep"])
    np.testing.assert_allclose(ours, theirs["imputation"].transpose(1, 2, 0), rtol=1e-5, atol=1e-6)

    explain = reference.keras_explain(network)
    maps = explain(network, data["x"], classes)
    np.testing.assert_allclose(maps, theirs["gradient_x_input"], rtol=1e-4, atol=1e-5)
    task = reference.task(network, data, classes, maps, explain=explain)
    for name, values in (("faithfulness_correlation", faithfulness.faithfulness_correlation(task)),
                         ("max_sensitivity", robustness.max_sensitivity(task)),
                         ("avg_sensitivity", robustness.avg_sensitivity(task)),
                         ("local_lipschitz", robustness.local_lipschitz(task))):
        low, high = bootstrap_interval(values, np.mean, 2000, 0)
        assert low <= theirs[name].mean() <= high, (name, low, theirs[name].mean(), high)


def test_agreement_with_the_stored_quantus_numbers(network):
    with np.load(reference.FIXTURE) as stored:
        compare(dict(stored), network)


@pytest.mark.skipif(importlib.util.find_spec("quantus") is None,
                    reason="quantus is not installed (the reference extra)")
def test_agreement_with_quantus_live(network):
    pytest.importorskip("torch")
    compare(reference.make_fixture(None), network)
