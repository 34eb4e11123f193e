"""nnvisual's LRP and DeepLIFT against zennit 0.5.1 and captum 0.9.0 on the same weights: every
composite and rule against zennit's, ``deeplift`` and ``deepshap`` against captum's ``DeepLift``
and ``DeepLiftShap``, on a VGG-style chain and a residual network with batch normalizations (each
in Keras and PyTorch, nnvisual/testing/twin_networks.py) and on EfficientNet-Lite0 (timm's
``tf_efficientnet_lite0`` with nnvisual's weights). nnvisual/testing/lrp_reference.py pairs the
methods; docs/lrp.md has the numbers.

On the twins every case agrees to 1e-5 of the reference's largest value (most to 1e-6). On
Lite0 nine of seventeen agree to 1e-4; the others differ by float32 rounding where a rule divides
by a unit's value that rounding dominates (``lrp_reference.LITE0_FLOAT32`` says where and holds
their bounds): in float64 nnvisual and the references agree to 1e-7 on each of them. DeepLIFT's
attributions sum to the change of the logit on all three networks.

The stored references (tests/fixtures/lrp_references.npz, made by ``python -m
nnvisual.testing.lrp_reference``; the twins' weights and inputs are stored with them) are checked
without torch; the live comparisons need the ``reference`` extra (torch, timm, zennit, captum).
"""

import collections
import copy

import numpy as np
import pytest

from nnvisual.testing import attribution_reference, torch_reference, twin_networks
from nnvisual.testing import lrp_reference as reference
from nnvisual.testing.locations import PHOTOS

STORED_CHEAP = {"epsilon-gamma-box", "by-type-and-name", "deeplift"}  # every rule but flat (Lite0 has it)
LITE0_CHEAP = {"epsilon-plus-flat"}
LIVE_CHEAP = {"epsilon-gamma-box", "deeplift"}  # the twins, in the default suite with the extra
LIVE_PHOTOS = (attribution_reference.FIXTURE_PHOTO, "n01443537_goldfish.JPEG")


def cases(cheap):
    return [pytest.param(case.name, marks=() if case.name in cheap else pytest.mark.slow)
            for case in reference.CASES]


def assert_agrees(network, case, inputs, ours, theirs, nnvisual_network):
    difference = reference.agreement(ours, theirs)
    correlation = np.corrcoef(ours.ravel(), theirs.ravel())[0, 1]
    assert difference <= reference.tolerance(network, case.name) and correlation >= 0.99999, (
        network, case.name, difference, correlation)
    if case.zennit is None:
        assert reference.summation_error(nnvisual_network, case, inputs, ours) <= reference.DELTA_TOLERANCE


@pytest.fixture(scope="module")
def stored():
    return np.load(reference.FIXTURE)


@pytest.fixture(scope="module")
def twins(stored):
    """``{name: (nnvisual's network, inputs)}`` of the twins, from the stored weights and inputs."""
    made = {}
    for name in twin_networks.NETWORKS:
        inputs = reference.Inputs(stored[f"{name}/x"], stored[f"{name}/classes"], stored[f"{name}/baselines"],
                                  stored[f"{name}/background"], reference.twin_inputs().bounds)
        model = twin_networks.keras_network(name, reference.stored_weights(stored, name))
        made[name] = reference.nnvisual_network(model, inputs), inputs
    return made


@pytest.fixture(scope="module")
def lite0(tmp_path_factory):
    from nnvisual.models import loading

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NNVISUAL_CACHE", str(tmp_path_factory.mktemp("cache")))
        return loading.load_model("efficientnet-lite0")


def test_the_fixture_is_small_and_holds_every_case(stored):
    assert reference.FIXTURE.stat().st_size < 300_000
    for name in reference.NETWORKS:
        for case in reference.CASES:
            maps = stored[f"{name}/{case.name}"]
            size = (224 // reference.LITE0_POOL,) * 2 if name == "lite0" else (twin_networks.SIZE,) * 2
            assert maps.shape[1:] == size and np.abs(maps).max() > 0, (name, case.name)
    assert reference.checksum(reference.lite0_photo()) == stored["lite0/image_sum"]  # the same photo


def test_the_stored_weights_are_the_seeded_ones(stored):
    for name in twin_networks.NETWORKS:
        seeded = twin_networks.weights(name)
        assert set(seeded) == set(reference.stored_weights(stored, name))
        assert all(np.array_equal(seeded[key], stored[f"{name}/weights/{key}"]) for key in seeded)


@pytest.mark.parametrize("case", cases(STORED_CHEAP))
@pytest.mark.parametrize("name", twin_networks.NETWORKS)
def test_the_stored_references_agree_on_the_twins(name, case, stored, twins):
    network, inputs = twins[name]
    case = reference.CASE[case]
    ours = reference.nnvisual_maps(network, case, inputs, reference.LAYERS[name][0])
    theirs = stored[f"{name}/{case.name}"].astype(np.float64)
    assert reference.agreement(ours.sum(axis=-1), theirs) <= reference.TOLERANCE, case.name
    if case.zennit is None:
        assert reference.summation_error(network, case, inputs, ours) <= reference.DELTA_TOLERANCE


@pytest.mark.parametrize("case", cases(LITE0_CHEAP))
def test_the_stored_references_agree_on_lite0(case, stored, lite0):
    case = reference.CASE[case]
    inputs = reference.lite0_inputs(lite0, reference.lite0_photo()[None], stored["lite0/classes"])
    network = reference.nnvisual_network(lite0.model, inputs)
    ours = reference.nnvisual_maps(network, case, inputs, reference.LAYERS["lite0"][0])
    theirs = stored[f"lite0/{case.name}"].astype(np.float64)
    assert reference.agreement(reference.pooled(ours.sum(axis=-1)), theirs) <= reference.tolerance(
        "lite0", case.name)


# -- live, with the reference extra ----------------------------------------------------------------
@pytest.fixture(scope="module")
def torch_twins():
    """``{name: the PyTorch twin}`` with the seeded weights (the stored ones)."""
    from nnvisual.testing import deeplift_reference, zennit_reference

    zennit_reference.import_zennit()
    deeplift_reference.import_captum()
    return {name: twin_networks.torch_network(name, twin_networks.weights(name))
            for name in twin_networks.NETWORKS}


@pytest.fixture(scope="module")
def timm_lite0():
    from nnvisual.testing import zennit_reference

    torch_reference.import_timm()
    zennit_reference.import_zennit()
    return torch_reference.timm_lite0()


def expected_rules(modules, first: str, conv: str, dense: str, named: dict) -> dict[str, str]:
    """The rule class zennit must register on each of ``modules`` (``(name, module)``, in order):
    ``first`` on the first convolution, ``conv`` and ``dense`` on the others, ``named`` by name,
    Pass on activations and batch normalizations, Norm on sums and average poolings."""
    import torch
    import zennit.layer

    expected, first_seen = {}, False
    for name, module in modules:
        if isinstance(module, torch.nn.Conv2d):
            expected[name] = named.get(name, conv if first_seen else first)
            first_seen = True
        elif isinstance(module, torch.nn.Linear):
            expected[name] = named.get(name, dense)
        elif isinstance(module, (torch.nn.ReLU, torch.nn.ReLU6, torch.nn.BatchNorm2d)):
            expected[name] = "Pass"
        elif isinstance(module, (zennit.layer.Sum, torch.nn.AdaptiveAvgPool2d)):
            expected[name] = "Norm"
    return expected


def assert_hooked(found, expected):
    """zennit's rules are ``expected``, and every leaf module without one holds no parameters
    (no layer with weights is silently differentiated by autograd)."""
    assert {name: rule for name, _, rule in found if rule} == expected
    assert not [name for name, module, rule in found
                if rule is None and not list(module.children()) and list(module.parameters())]


def test_zennit_gives_every_layer_of_the_twins_its_rule(torch_twins):
    from nnvisual.testing import zennit_reference

    case, inputs = reference.CASE["by-type-and-name"], reference.twin_inputs()
    for name, net in torch_twins.items():
        layer = reference.LAYERS[name][1]
        found = zennit_reference.hooks(net, reference.zennit_composite(net, case, inputs, False, layer))
        assert_hooked(found, expected_rules([f[:2] for f in found], "ZBox", "Gamma", "AlphaBeta",
                                            {layer: "ZPlus"}))


def test_zennit_gives_every_layer_of_lite0_its_rule_and_each_residual_sum_the_norm_rule(timm_lite0):
    """No silent fallback on timm's network: every convolution, ReLU6, merged batch normalization,
    residual sum and pooling has its rule, and there are as many sums as Lite0 has residual
    blocks (9)."""
    from nnvisual.testing import zennit_reference

    case = reference.CASE["epsilon-gamma-box"]
    inputs = reference.Inputs(*(None,) * 4, (np.full((224, 224, 3), -1.0), np.full((224, 224, 3), 1.0)))
    found = zennit_reference.hooks(timm_lite0, reference.zennit_composite(timm_lite0, case, inputs, True, ""))
    assert_hooked(found, expected_rules([f[:2] for f in found], "ZBox", "Gamma", "Epsilon", {}))
    assert collections.Counter(rule for _, _, rule in found)["Norm"] == 9 + 1  # the sums, the pooling


def test_the_canonized_networks_compute_the_same_logits(torch_twins, timm_lite0, twins):
    """The merged batch normalizations are the identity and the sums add: the canonized PyTorch
    networks' logits are the Keras networks' (the twins) and timm's own (Lite0)."""
    import torch
    import zennit.core

    from nnvisual.testing import zennit_reference

    def canonized_logits(net, x, timm_blocks):
        composite = zennit.core.Composite(canonizers=zennit_reference.canonizers(net, timm_blocks))
        with composite.context(net), torch.no_grad():
            return net(torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))).numpy()

    for name, net in torch_twins.items():
        network, inputs = twins[name]
        expected = network.logits(inputs.x)
        np.testing.assert_allclose(canonized_logits(net, inputs.x, False), expected, atol=1e-5, rtol=0)
    x = np.random.default_rng(0).uniform(-1, 1, (1, 224, 224, 3)).astype(np.float32)
    with torch.no_grad():
        plain = timm_lite0(torch.from_numpy(x.transpose(0, 3, 1, 2).copy())).numpy()
    np.testing.assert_allclose(canonized_logits(timm_lite0, x, True), plain, atol=1e-4, rtol=0)


def test_zennit_0_5_1s_own_merge_leaves_each_batch_norm_scaling_by_1_over_sqrt_1_plus_eps(torch_twins, twins):
    """Why nnvisual/testing/zennit_reference.py merges batch normalizations itself: zennit 0.5.1's
    ``SequentialMergeBatchNorm`` leaves x / sqrt(1 + eps) behind, so the network it explains is
    not the network."""
    import torch
    import zennit.canonizers
    import zennit.core

    net, (network, inputs) = torch_twins["residual"], twins["residual"]
    composite = zennit.core.Composite(canonizers=[zennit.canonizers.SequentialMergeBatchNorm()])
    with composite.context(net), torch.no_grad():
        theirs = net(torch.from_numpy(np.ascontiguousarray(inputs.x.transpose(0, 3, 1, 2)))).numpy()
        scale = net.stem_bn(torch.ones(1, 8, 1, 1)).flatten().numpy()
    np.testing.assert_allclose(scale, 1 / np.sqrt(1 + twin_networks.EPSILON), rtol=1e-6)
    assert np.abs(theirs - network.logits(inputs.x)).max() > 1e-4


def test_captum_misses_summation_where_a_relu_feeds_a_max_pooling_directly(torch_twins, twins):
    """Why nnvisual/testing/deeplift_reference.py gives each max pooling a copy of its input: on
    the VGG twin as it is, captum 0.9.0's attributions do not sum to the change of the logit."""
    from nnvisual.testing import deeplift_reference

    network, inputs = twins["vgg"]
    case = reference.CASE["deeplift"]
    raw = deeplift_reference.deeplift(torch_twins["vgg"], inputs.x, inputs.baselines, inputs.classes)
    ready = deeplift_reference.deeplift(deeplift_reference.captum_ready(torch_twins["vgg"]), inputs.x,
                                        inputs.baselines, inputs.classes)
    assert reference.summation_error(network, case, inputs, raw) > 1e-2
    assert reference.summation_error(network, case, inputs, ready) <= reference.DELTA_TOLERANCE


@pytest.mark.parametrize("case", cases(LIVE_CHEAP))
@pytest.mark.parametrize("name", twin_networks.NETWORKS)
def test_nnvisual_agrees_with_the_reference_on_the_twins(name, case, twins, torch_twins):
    network, inputs = twins[name]
    case = reference.CASE[case]
    ours = reference.nnvisual_maps(network, case, inputs, reference.LAYERS[name][0])
    theirs = reference.reference_maps(torch_twins[name], case, inputs, False, reference.LAYERS[name][1])
    assert_agrees(name, case, inputs, ours, theirs, network)
    if case.zennit is None:
        assert reference.summation_error(network, case, inputs, theirs) <= reference.DELTA_TOLERANCE


@pytest.fixture(scope="module")
def live_lite0(lite0, timm_lite0):
    """``(nnvisual's network, inputs)`` of two photos, explaining their top-1 classes."""
    from nnvisual import data

    if not all((PHOTOS / name).is_file() for name in LIVE_PHOTOS):
        pytest.skip(f"no ImageNet sample photos at {PHOTOS}")
    images = np.stack([data.resize(data.read_image(PHOTOS / name), lite0.image_size)
                       for name in LIVE_PHOTOS]).astype(np.uint8)
    inputs = reference.lite0_inputs(lite0, images)
    return reference.nnvisual_network(lite0.model, inputs), inputs


@pytest.mark.slow
@pytest.mark.parametrize("case", [case.name for case in reference.CASES])
def test_nnvisual_agrees_with_the_reference_on_lite0(case, live_lite0, timm_lite0):
    network, inputs = live_lite0
    case = reference.CASE[case]
    ours = reference.nnvisual_maps(network, case, inputs, reference.LAYERS["lite0"][0])
    theirs = reference.reference_maps(timm_lite0, case, inputs, True, reference.LAYERS["lite0"][1])
    assert ours.shape == theirs.shape == (2, 224, 224, 3)
    assert_agrees("lite0", case, inputs, ours, theirs, network)


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(reference.LITE0_FLOAT32))
def test_in_float64_nnvisual_and_the_references_agree_on_lite0(case, stored, timm_lite0):
    """The cases float32 rounding moves by more than 1e-4 on Lite0 agree to 1e-6 when both sides
    compute in float64: the same function, rounded differently."""
    from nnvisual.models import loading
    from nnvisual.training.trainer import dtype_policy

    case = reference.CASE[case]
    with dtype_policy("float64"):
        loaded = loading.load_model("efficientnet-lite0")
        inputs = reference.lite0_inputs(loaded, reference.lite0_photo()[None], stored["lite0/classes"])
        network = reference.nnvisual_network(loaded.model, inputs)
        assert network.logits(inputs.x).dtype == np.float64
        ours = reference.nnvisual_maps(network, case, inputs, reference.LAYERS["lite0"][0])
    net, layer = copy.deepcopy(timm_lite0).double(), reference.LAYERS["lite0"][1]
    theirs = reference.reference_maps(net, case, inputs.astype(np.float64), True, layer)
    assert reference.agreement(ours, theirs) <= 1e-6
