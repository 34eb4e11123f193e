"""Every figure of nnvisual.plots, drawn from tiny hand-built inputs, checked for its content:
the number of panels, titles and labels, the arrays each panel shows and the values each curve
or bar plots. Expected images are worked out here: crops, offsets and the display normalization
(x - mean) / std * 0.1 + 0.5, clipped, times 255, from the formula the modules document.
"""

import matplotlib

matplotlib.use("Agg")

import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from nnvisual.config import MaximizeConfig  # noqa: E402
from nnvisual.deconv import LayerProjections, TopImages  # noqa: E402
from nnvisual.descriptors.bow import VisualVocabulary  # noqa: E402
from nnvisual.descriptors.extract import ImageFeatures  # noqa: E402
from nnvisual.descriptors.sift import Features  # noqa: E402
from nnvisual.plots import bow as bow_plots  # noqa: E402
from nnvisual.plots import deconv as deconv_plots  # noqa: E402
from nnvisual.plots import maximize as maximize_plots  # noqa: E402
from nnvisual.plots import sanity as sanity_plots  # noqa: E402
from nnvisual.plots.attribution import display_map  # noqa: E402
from nnvisual.plots.training import training_curves  # noqa: E402
from nnvisual.steps.score_bow import ImageSet, PhaseScores, Scoring  # noqa: E402

TAB10 = plt.cm.tab10.colors


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def grid(figure, rows, cols):
    """The figure's axes as a (rows, cols) array; fails unless it has exactly that many."""
    assert len(figure.axes) == rows * cols, len(figure.axes)
    return np.array(figure.axes, dtype=object).reshape(rows, cols)


def shown(axis):
    """The one array an axis displays."""
    assert len(axis.images) == 1, len(axis.images)
    return np.asarray(axis.images[0].get_array())


def display(x):
    """The documented display normalization, written out: per image, to uint8."""
    x = np.asarray(x, np.float64)
    z = (x - x.mean()) / (x.std() + 1e-5) * 0.1 + 0.5
    return np.round(np.clip(z, 0, 1) * 255).astype(np.uint8)


def notes(figure):
    """The figure's free texts other than its suptitle (the display note)."""
    return [text.get_text() for text in figure.texts if text.get_text() != figure.get_suptitle()]


def rgba(colour):
    return mcolors.to_rgba(colour)


def sign_pattern(shape, scale, seed):
    """Half the values +scale, half -scale: displayed as exactly 153 and 102 (0.5 +- 0.1)."""
    signs = np.resize([1.0, -1.0], int(np.prod(shape)))
    np.random.default_rng(seed).shuffle(signs)
    return (signs * scale).reshape(shape).astype(np.float32)


# -- training ----------------------------------------------------------------------------------------
def test_training_curves_plot_each_series_against_its_epoch():
    history = {"accuracy": [0.1, 0.4, 0.55], "val_accuracy": [0.2, 0.35, 0.5],
               "loss": [2.3, 1.7, 1.2], "val_loss": [2.1, 1.9, 1.6]}
    figure = training_curves(history, "plotka on CIFAR-10")
    accuracy, loss = grid(figure, 1, 2)[0]
    assert figure.get_suptitle() == "plotka on CIFAR-10"
    for axis, label, key in ((accuracy, "Accuracy", "accuracy"), (loss, "Loss", "loss")):
        assert axis.get_title() == f"{label} per epoch"
        assert axis.get_xlabel() == "Epoch" and axis.get_ylabel() == label
        training, validation = axis.lines
        np.testing.assert_array_equal(training.get_xdata(), [1, 2, 3])
        np.testing.assert_array_equal(validation.get_xdata(), [1, 2, 3])
        np.testing.assert_array_equal(training.get_ydata(), history[key])
        np.testing.assert_array_equal(validation.get_ydata(), history[f"val_{key}"])
        assert (training.get_label(), validation.get_label()) == ("Training", "Validation")
        assert (training.get_marker(), validation.get_marker()) == ("o", "s")
        assert validation.get_linestyle() == "--"
        assert [t.get_text() for t in axis.get_legend().get_texts()] == ["Training", "Validation"]
    # integer epoch ticks only
    assert all(float(t).is_integer() for t in accuracy.xaxis.get_majorticklocs())


def test_figures_stay_out_of_pyplot_so_a_notebook_shows_each_once():
    """A pyplot figure would be shown twice in a notebook: returned, and again by the inline
    backend at the cell's end (tests/test_notebook.py counts them)."""
    import io

    plt.close("all")
    figure = training_curves({"accuracy": [0.3, 0.4], "val_accuracy": [0.25, 0.3],
                              "loss": [1.5, 1.2], "val_loss": [1.6, 1.4]}, "two epochs")
    assert plt.get_fignums() == []
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    assert buffer.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"


def test_training_curves_of_one_epoch():
    figure = training_curves({"accuracy": [0.3], "val_accuracy": [0.25], "loss": [1.5],
                              "val_loss": [1.6]}, "one epoch")
    loss = grid(figure, 1, 2)[0, 1]
    assert [list(line.get_ydata()) for line in loss.lines] == [[1.5], [1.6]]


# -- deconv ------------------------------------------------------------------------------------------
IMAGE = np.arange(8 * 8 * 3, dtype=np.uint8).reshape(8, 8, 3)


def layer_result():
    """Two channels of a layer on an 8x8 RGB image, with 5x5 receptive fields clipped by the
    border: channel 5's at the top (rows 0..2 of the field's 5), channel 2's at the left."""
    projections = np.stack([sign_pattern((8, 8, 3), 1.0, 1), sign_pattern((8, 8, 3), 1000.0, 2)])
    # channel 5's field holds other values than the rest: its crop is normalized on its own
    projections[0, 0:3, 2:7] = np.random.default_rng(0).normal(5, 3, (3, 5, 3))
    return LayerProjections(
        layer="conv1", channels=np.array([5, 2]), activations=np.array([3.14159, 0.5]),
        positions=np.array([[0, 4], [5, 1]]), boxes=np.array([[0, 2, 3, 7], [3, 0, 8, 4]]),
        projections=projections, field_size=(5, 5))


def expected_field(crop_display, canvas_shape, row, col):
    canvas = np.zeros((*canvas_shape, 4), np.uint8)
    height, width = crop_display.shape[:2]
    canvas[row:row + height, col:col + width, :3] = crop_display
    canvas[row:row + height, col:col + width, 3] = 255
    return canvas


def test_display_of_a_sign_pattern_is_102_and_153():
    # the hand-derived values the deconv tests rely on: mean 0, std = scale
    np.testing.assert_array_equal(np.unique(display(sign_pattern((4, 4, 3), 7.0, 0))), [102, 153])


def test_layer_figure_shows_the_input_each_projection_and_its_receptive_field():
    result = layer_result()
    figure = deconv_plots.layer_figure(IMAGE, result, "deconvnet", "max")
    axes = grid(figure, 2, 3)
    assert figure.get_suptitle() == ("conv1: top-2 feature maps in pixel space (deconvnet, each "
                                     "channel projected from its strongest activation)")
    assert notes(figure) == [deconv_plots.DISPLAY_NOTE + deconv_plots.FIELD_NOTE]

    # top row: the input as given, then each projection display-normalized on its own
    assert axes[0, 0].get_title() == "input"
    np.testing.assert_array_equal(shown(axes[0, 0]), IMAGE)
    assert [axes[0, i].get_title() for i in (1, 2)] == ["channel 5\nmax 3.14", "channel 2\nmax 0.5"]
    top1, top2 = shown(axes[0, 1]), shown(axes[0, 2])
    assert top1.shape == top2.shape == (8, 8, 3)
    np.testing.assert_array_equal(top1, display(result.projections[0]))
    # +-1000 displays as 153 / 102 as +-1 would: each panel has its own scale
    np.testing.assert_array_equal(top2, np.where(result.projections[1] > 0, 153, 102))
    for axis in axes.flat:
        assert list(axis.get_xticks()) == [] and list(axis.get_yticks()) == []

    # bottom row: the input with each field outlined, then each projection cut to its field
    assert axes[1, 0].get_title() == "receptive fields"
    np.testing.assert_array_equal(shown(axes[1, 0]), IMAGE)
    first, second = axes[1, 0].patches
    assert (first.get_xy(), first.get_width(), first.get_height()) == ((1.5, -0.5), 5, 3)
    assert (second.get_xy(), second.get_width(), second.get_height()) == ((-0.5, 2.5), 4, 5)
    assert first.get_edgecolor() == rgba(TAB10[0]) and second.get_edgecolor() == rgba(TAB10[1])
    assert not first.get_fill()

    assert [axes[1, i].get_title() for i in (1, 2)] == ["field 5x5 px\n3x5 in the image",
                                                         "field 5x5 px\n5x4 in the image"]
    # channel 5: rows 0..2 of the image, the 2 field rows above it were cut off: crop at the bottom
    crop = display(result.projections[0, 0:3, 2:7])
    np.testing.assert_array_equal(shown(axes[1, 1]), expected_field(crop, (5, 5), 2, 0))
    # channel 2: columns 0..3, one field column left of the image cut off: crop on the right
    crop = display(result.projections[1, 3:8, 0:4])
    np.testing.assert_array_equal(shown(axes[1, 2]), expected_field(crop, (5, 5), 0, 1))
    for i, colour in ((1, TAB10[0]), (2, TAB10[1])):
        assert {spine.get_edgecolor() for spine in axes[1, i].spines.values()} == {rgba(colour)}


def test_layer_figure_in_map_mode_has_no_field_row():
    result = layer_result()
    figure = deconv_plots.layer_figure(IMAGE, result, "guided", "map")
    axes = grid(figure, 1, 3)
    assert figure.get_suptitle().endswith("(guided, each channel projected from its whole map)")
    assert notes(figure) == [deconv_plots.DISPLAY_NOTE]
    np.testing.assert_array_equal(shown(axes[0, 2]), display(result.projections[1]))


def test_overview_figure_shows_each_layers_strongest_channel():
    first = layer_result()
    grey = sign_pattern((4, 4, 1), 3.0, 5)  # a one-channel projection is drawn in grey
    second = LayerProjections(
        layer="conv2", channels=np.array([9]), activations=np.array([12345.0]),
        positions=np.array([[1, 1]]), boxes=np.array([[0, 0, 4, 4]]),
        projections=np.stack([np.kron(grey, np.ones((2, 2, 1)))]), field_size=(6, 6))
    figure = deconv_plots.overview_figure(IMAGE, [first, second], "deconvnet", "max", "plotka")
    axes = grid(figure, 2, 3)
    assert figure.get_suptitle() == ("plotka: strongest feature map of each layer in pixel space "
                                     "(deconvnet, each channel projected from its strongest activation)")
    assert [axis.get_title() for axis in axes[0]] == [
        "input", "conv1\nchannel 5, max 3.14", "conv2\nchannel 9, max 1.23e+04"]
    np.testing.assert_array_equal(shown(axes[0, 0]), IMAGE)
    np.testing.assert_array_equal(shown(axes[0, 1]), display(first.projections[0]))
    panel = shown(axes[0, 2])
    assert panel.shape == (8, 8)  # the channel axis dropped, drawn with the grey colour map
    assert axes[0, 2].images[0].get_cmap().name == "gray"
    np.testing.assert_array_equal(panel, np.where(np.kron(grey, np.ones((2, 2, 1)))[..., 0] > 0, 153, 102))

    # field row: only the strongest channel of each layer; conv2's 6x6 field lost 2 rows and 2
    # columns before the image's top-left corner, so its 4x4 crop sits at (2, 2) of the field
    assert len(axes[1, 0].patches) == 2
    assert [axes[1, i].get_title() for i in (1, 2)] == ["field 5x5 px\n3x5 in the image",
                                                         "field 6x6 px\n4x4 in the image"]
    crop = display(np.kron(grey, np.ones((2, 2, 1)))[0:4, 0:4])
    np.testing.assert_array_equal(shown(axes[1, 2]),
                                  expected_field(np.repeat(crop, 3, axis=2), (6, 6), 2, 2))


def test_overview_figure_in_map_mode():
    figure = deconv_plots.overview_figure(IMAGE, [layer_result()], "gradient", "map", "vgg16")
    axes = grid(figure, 1, 2)
    assert figure.get_suptitle().startswith("vgg16: strongest feature map of each layer")
    np.testing.assert_array_equal(shown(axes[0, 1]), display(layer_result().projections[0]))


def test_top9_figure_pairs_each_projection_crop_with_its_image_patch():
    rng = np.random.default_rng(3)
    projections = rng.normal(0, 1, (2, 2, 6, 6, 1)).astype(np.float32)  # grey projections
    inputs = rng.integers(0, 256, (2, 2, 6, 6, 3), dtype=np.uint8)
    boxes = np.array([[[1, 1, 5, 5], [0, 2, 3, 6]],    # inside; cut at the top
                      [[2, 0, 6, 3], [3, 3, 6, 6]]])   # cut at the left; cut at bottom and right
    top = TopImages(layer="conv2", channels=np.array([7, 1]), indices=np.array([[0, 1], [2, 3]]),
                    activations=np.ones((2, 2)), positions=np.zeros((2, 2, 2), np.int64),
                    boxes=boxes, projections=projections, field_size=(4, 4))
    figure = deconv_plots.top9_figure(top, inputs, "deconvnet", "max")
    axes = grid(figure, 2, 5)  # n projections, a spacer, n patches
    assert figure.get_suptitle() == (
        "conv2: the 2 images that activate each channel most (deconvnet, each channel projected "
        "from its strongest activation; crops: receptive field)")
    assert notes(figure) == [deconv_plots.DISPLAY_NOTE
                                                          + deconv_plots.FIELD_NOTE]
    assert axes[0, 1].get_title() == "projections (strongest image first)"
    assert axes[0, 4].get_title() == "image patches"
    assert [axes[i, 0].get_ylabel() for i in (0, 1)] == ["ch 7", "ch 1"]
    assert not axes[0, 2].axison and not axes[1, 2].axison and not axes[0, 2].images

    # (canvas row, canvas col) of each crop on its 4x4 field, worked out from the boxes
    placement = {(0, 0): (0, 0), (0, 1): (1, 0), (1, 0): (0, 1), (1, 1): (0, 0)}
    for (i, j), (row, col) in placement.items():
        top_, left, bottom, right = boxes[i, j]
        crop = display(projections[i, j, top_:bottom, left:right])
        np.testing.assert_array_equal(
            shown(axes[i, j]), expected_field(np.repeat(crop, 3, axis=2), (4, 4), row, col),
            err_msg=f"projection {i}, {j}")
        patch = inputs[i, j, top_:bottom, left:right]  # raw pixels, not normalized
        np.testing.assert_array_equal(shown(axes[i, 3 + j]), expected_field(patch, (4, 4), row, col),
                                      err_msg=f"patch {i}, {j}")
    # the bottom-right crop leaves the field's last row and column transparent
    assert shown(axes[1, 4])[3, :, 3].tolist() == [0, 0, 0, 0]


# -- maximize ----------------------------------------------------------------------------------------
def test_reconstructions_figure_before_and_after():
    rng = np.random.default_rng(0)
    before = rng.integers(0, 256, (3, 4, 4, 3), dtype=np.uint8)
    after = rng.integers(0, 256, (2, 4, 4, 3), dtype=np.uint8)  # a shorter phase
    figure = maximize_plots.reconstructions_figure(
        {"before": before, "after": after},
        {"before": np.array([0.5, 0.123456, 1e-5]), "after": np.array([0.99, 0.25])},
        "plotka, class 3", "cat")
    axes = grid(figure, 2, 3)
    assert figure.get_suptitle() == "plotka, class 3\np: the model's probability of class cat"
    assert [axis.get_title() for axis in axes[0]] == ["#0", "#1", "#2"]
    assert [axis.get_title() for axis in axes[1]] == ["", "", ""]
    assert [axes[r, 0].get_ylabel() for r in (0, 1)] == ["before retraining", "after retraining"]
    assert [axis.get_xlabel() for axis in axes[0]] == ["p = 0.5", "p = 0.123", "p = 1e-05"]
    assert [axis.get_xlabel() for axis in axes[1, :2]] == ["p = 0.99", "p = 0.25"]
    for column in range(3):
        np.testing.assert_array_equal(shown(axes[0, column]), before[column])
    for column in range(2):
        np.testing.assert_array_equal(shown(axes[1, column]), after[column])
    assert not axes[1, 2].axison and not axes[1, 2].images  # nothing to show there


def test_reconstructions_figure_without_retraining():
    image = np.full((1, 2, 2, 3), 7, np.uint8)
    figure = maximize_plots.reconstructions_figure({"before": image}, {"before": np.array([0.3])},
                                                   "t", "284")
    (axis,) = grid(figure, 1, 1).flat
    assert axis.get_ylabel() == "reconstruction" and axis.get_xlabel() == "p = 0.3"
    np.testing.assert_array_equal(shown(axis), image[0])


def test_trajectory_figure_draws_every_image_and_the_mean():
    objective = {"before": np.array([[0.0, 1.0], [2.0, 5.0], [4.0, 9.0]]),
                 "after": np.array([[1.0, 1.0], [3.0, 1.0], [8.0, 2.0]])}
    probability = {"before": np.array([[0.1, 0.2], [0.3, 0.2], [0.5, 0.9]]),
                   "after": np.array([[0.0, 0.0], [0.4, 0.2], [1.0, 0.0]])}
    figure = maximize_plots.trajectory_figure(objective, probability, "logit", "class 284")
    axes = grid(figure, 2, 2)
    assert figure.get_suptitle() == "class 284"
    means = {"before": ([0.5, 3.5, 6.5], [0.15, 0.25, 0.7]),  # worked out by hand
             "after": ([1.0, 2.0, 5.0], [0.0, 0.3, 0.5])}
    for row, phase in enumerate(("before", "after")):
        colour = rgba(maximize_plots.PHASE_COLORS[phase])
        for column, values, label in ((0, objective[phase], "logit"),
                                      (1, probability[phase], "class probability")):
            axis = axes[row, column]
            assert axis.get_ylabel() == label
            assert axis.get_title() == f"{phase} retraining"
            assert len(axis.lines) == 3  # one per image, then the mean
            for line in axis.lines:
                np.testing.assert_array_equal(line.get_xdata(), [0, 1, 2])
                assert rgba(line.get_color())[:3] == colour[:3]
            np.testing.assert_array_equal(axis.lines[0].get_ydata(), values[:, 0])
            np.testing.assert_array_equal(axis.lines[1].get_ydata(), values[:, 1])
            np.testing.assert_allclose(axis.lines[2].get_ydata(), means[phase][column])
            assert axis.lines[2].get_linewidth() > axis.lines[0].get_linewidth()
        legend = axes[row, 0].get_legend()
        assert [t.get_text() for t in legend.get_texts()] == ["mean of the images"]
        assert axes[row, 1].get_legend() is None
    assert [axis.get_xlabel() for axis in axes.flat] == ["", "", "gradient-ascent step",
                                                         "gradient-ascent step"]


def test_trajectory_figure_of_one_phase():
    figure = maximize_plots.trajectory_figure({"before": np.array([[1.0], [2.0]])},
                                              {"before": np.array([[0.2], [0.4]])}, "score", "t")
    left, right = grid(figure, 1, 2)[0]
    assert left.get_title() == right.get_title() == "reconstruction"
    assert left.get_xlabel() == right.get_xlabel() == "gradient-ascent step"
    np.testing.assert_array_equal(left.lines[1].get_ydata(), [1.0, 2.0])
    np.testing.assert_allclose(right.lines[1].get_ydata(), [0.2, 0.4])


# -- score-bow ---------------------------------------------------------------------------------------
def features(count):
    return ImageFeatures(Features(np.zeros((count, 2), np.float32), np.zeros((count, 128), np.float32)),
                         np.zeros((0, 2), np.float32))


def images(count, value):
    return np.stack([np.full((3, 3, 3), value + 10 * i, np.uint8) for i in range(count)])


def scoring():
    """Two phases (2 and 1 reconstructions), 3 class images (the training images too), 4 words."""
    class_images = ImageSet("class_images", images(3, 100), ["c0.png", "c1.png", "c2.png"])
    class_histograms = np.array([[0.1, 0.2, 0.3, 0.4], [0.5, 0.5, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
    before = PhaseScores(
        reconstructions=ImageSet("before", images(2, 1), ["00.png", "01.png"]),
        features=[features(5), features(0)],
        histograms=np.array([[0.7, 0.1, 0.1, 0.1], [0.0, 0.0, 0.0, 0.0]]),
        scores=np.array([[0.2, 0.9, 0.1], [0.0, 0.0, 0.0]]),   # closest: c1, then c0 (a tie at 0)
        inliers=np.array([[1, 3, 0], [0, 0, 0]]),
        repeatability=np.zeros((2, 3)))
    after = PhaseScores(
        reconstructions=ImageSet("after", images(1, 50), ["00.png"]),
        features=[features(2)],
        histograms=np.array([[0.25, 0.25, 0.25, 0.25]]),
        scores=np.array([[0.3, 0.1, 0.6789]]),                  # closest: c2
        inliers=np.array([[2, 2, 4]]),
        repeatability=np.zeros((1, 3)))
    return Scoring([before, after], class_images, [features(4)] * 3, class_histograms,
                   class_images, [features(4)] * 3, VisualVocabulary(n_words=4))


def bars(container):
    return ([patch.get_x() + patch.get_width() / 2 for patch in container],
            [patch.get_height() for patch in container])


def test_closest_images_shows_each_reconstruction_its_closest_class_image_and_histograms():
    result = scoring()
    figure = bow_plots.closest_images(result)
    axes = grid(figure, 2, 6)  # rows: most reconstructions of a phase; 3 panels per phase
    assert figure.get_suptitle() == "Closest class image by bag-of-visual-words score (tf-idf, sqrt, L2)"
    expected = [  # (row, first column, reconstruction, title, closest image, its histogram, title)
        (0, 0, result.phases[0], 0, "before 00.png", 1, "c1.png", "cosine score 0.900"),
        (1, 0, result.phases[0], 1, "before 01.png", 0, "c0.png", "cosine score 0.000 (no keypoints)"),
        (0, 3, result.phases[1], 0, "after 00.png", 2, "c2.png", "cosine score 0.679"),
    ]
    for row, col, phase, i, title, best, best_name, score_title in expected:
        left, middle, right = axes[row, col:col + 3]
        assert left.get_title() == title
        np.testing.assert_array_equal(shown(left), phase.reconstructions.images[i])
        assert middle.get_title() == f"closest: {best_name}"
        np.testing.assert_array_equal(shown(middle), result.class_images.images[best])
        assert right.get_title() == score_title
        reconstruction, closest = right.containers
        np.testing.assert_allclose(bars(reconstruction)[0], [-0.2, 0.8, 1.8, 2.8])
        np.testing.assert_allclose(bars(closest)[0], [0.2, 1.2, 2.2, 3.2])
        np.testing.assert_allclose(bars(reconstruction)[1], phase.histograms[i])
        np.testing.assert_allclose(bars(closest)[1], result.class_histograms[best])
        assert right.get_ylim() == (0, 1)
        assert (right.get_xlabel(), right.get_ylabel()) == ("visual word", "weight")
        assert list(right.get_xticks()) == [0, 1, 2, 3]
    # the "after" phase has one reconstruction: its second row is hidden
    assert all(not axis.axison and not axis.images for axis in axes[1, 3:])
    legend = axes[0, 2].get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["reconstruction", "closest class image"]


def test_contributions_show_the_training_images_with_most_inliers_and_their_shares():
    result = scoring()
    figure = bow_plots.contributions(result, top=2)
    axes = grid(figure, 2, 6)  # per phase: the reconstruction and the top 2
    assert figure.get_suptitle() == ("Top 2 contributing training images: share of RANSAC inliers "
                                     "(count)")
    training = result.training_images.images

    row = axes[0, :3]  # before 00.png: inliers [1, 3, 0] -> c1 (75%), c0 (25%)
    assert row[0].get_title() == "before 00.png" and row[0].get_ylabel() == "4 inliers"
    np.testing.assert_array_equal(shown(row[0]), result.phases[0].reconstructions.images[0])
    assert [axis.get_title() for axis in row[1:]] == ["75.0% (3)", "25.0% (1)"]
    assert [axis.get_xlabel() for axis in row[1:]] == ["c1.png", "c0.png"]
    np.testing.assert_array_equal(shown(row[1]), training[1])
    np.testing.assert_array_equal(shown(row[2]), training[0])

    row = axes[1, :3]  # before 01.png: no inliers, nothing beside it
    assert row[0].get_ylabel() == "0 inliers"
    assert all(not axis.axison and not axis.images for axis in row[1:])

    row = axes[0, 3:]  # after 00.png: inliers [2, 2, 4] -> c2 (50%), then c0 before c1 (a tie)
    assert row[0].get_title() == "after 00.png" and row[0].get_ylabel() == "8 inliers"
    assert [axis.get_title() for axis in row[1:]] == ["50.0% (4)", "25.0% (2)"]
    assert [axis.get_xlabel() for axis in row[1:]] == ["c2.png", "c0.png"]
    np.testing.assert_array_equal(shown(row[1]), training[2])
    np.testing.assert_array_equal(shown(row[2]), training[0])
    assert all(not axis.axison for axis in axes[1, 3:])  # the after phase's empty row


def test_contributions_with_more_columns_than_training_images():
    figure = bow_plots.contributions(scoring(), top=4)
    axes = grid(figure, 2, 10)
    # after 00.png has 3 training images with inliers: the 4th column is hidden
    assert [axis.get_title() for axis in axes[0, 6:9]] == ["50.0% (4)", "25.0% (2)", "25.0% (2)"]
    assert not axes[0, 9].axison and not axes[0, 9].images


def test_a_deep_networks_cascade_shows_evenly_spaced_stages_and_names_a_few():
    """30 stages: the grid shows 12, the first (top layer) and the last (first layer) among
    them, and says so; the similarity curves plot all 30 and name 16 on the axis."""
    labels = [f"layer{k}" for k in range(30)]
    assert sanity_plots.shown_stages(30, 12).tolist() == [0, 3, 5, 8, 11, 13, 16, 18, 21, 24, 26, 29]
    assert sanity_plots.shown_stages(5, 12).tolist() == [0, 1, 2, 3, 4]
    maps = {"saliency": np.arange(30 * 4 * 4, dtype=float).reshape(30, 4, 4)}
    figure = sanity_plots.cascading_grid(np.zeros((4, 4, 3), np.uint8), "photo.png", labels,
                                         {"saliency": np.ones((4, 4))}, maps)
    axes = figure.axes
    assert len(axes) == 14
    assert [axis.get_title() for axis in axes[2:]] == [labels[k] for k in
                                                      sanity_plots.shown_stages(30, 12)]
    np.testing.assert_array_equal(axes[-1].images[0].get_array(), display_map(maps["saliency"][29]))
    assert "12 of 30 stages shown" in figure._suptitle.get_text()
    band = (np.linspace(1, 0, 30), np.linspace(0.9, -0.1, 30), np.linspace(1.1, 0.1, 30))
    curves = sanity_plots.similarity_curves("cascading", labels, {"ssim": {"saliency": band}})
    (axis,) = curves.axes
    np.testing.assert_array_equal(axis.lines[0].get_ydata(), band[0])
    assert [tick.get_text() for tick in axis.get_xticklabels()] == [
        labels[k] for k in sanity_plots.shown_stages(30, 16)]


# -- maximize's titles: the optimization in words -----------------------------------------------
def test_priors_description_in_words():
    assert maximize_plots.priors_description(MaximizeConfig()) == "no regularizer"
    described = maximize_plots.priors_description(MaximizeConfig(l2_decay=0.01, jitter=2,
                                                                 blur_every=4, clip=True))
    assert described == "L2 decay 0.01, jitter 2 px, blur every 4 (sigma 1), clipped to 0..255"



def test_method_description_names_lucids_settings():
    described = maximize_plots.method_description(MaximizeConfig(
        param="fft", decorrelate=True, steps=64, transforms="standard", diversity=10,
        diversity_layer="conv4"))
    assert described == ("fft image, decorrelated colour, 64 Adam steps of 0.05, transforms "
                         "standard, diversity 10 on conv4")
    assert maximize_plots.method_description(MaximizeConfig(steps=3)) == \
        "3 steps of 0.0001, no regularizer"



def test_pixel_steps_name_the_update_rule():
    assert maximize_plots.pixel_steps(MaximizeConfig(steps=3)) == "3 steps of 0.0001"
    assert maximize_plots.method_description(MaximizeConfig(
        steps=50, step_size=1, optimizer="adam", clip=True)) == "50 Adam steps of 1, clipped to 0..255"


def test_one_epoch_has_one_whole_epoch_tick():
    history = {"accuracy": [0.1], "val_accuracy": [0.2], "loss": [2.3], "val_loss": [2.1]}
    accuracy, _ = grid(training_curves(history, "one epoch"), 1, 2)[0]
    ticks = [t for t in accuracy.xaxis.get_majorticklocs()
             if accuracy.get_xlim()[0] <= t <= accuracy.get_xlim()[1]]
    assert ticks == [1.0]
