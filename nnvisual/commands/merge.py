"""``nnvisual merge``: the N runs of a sharded scan (``--shard I/N``) as the one run folder the
unsharded command writes (docs/distributed.md, "Sharded scans")."""

from pathlib import Path

import click

from nnvisual.commands import options


@click.command("merge")
@click.argument("paths", metavar="RUN...", nargs=-1, required=True,
                type=click.Path(path_type=Path))
@options.unsafe_option
@options.out_option
@options.force_option
def command(paths, unsafe, out, force):
    """Merge the shard runs of one `deconv --top9`, `attribute` or `atlas` run into one run folder.

    The runs must be all N shards (--shard 0/N .. N-1/N) of the same command with the same
    settings, each file read from them as its run wrote it (the sha256 in its manifest). The
    merged tables/*.csv and *.npz are the unsharded run's files, byte for byte
    (docs/distributed.md). deconv: the shards' candidates give the global top-9, which is
    projected here, so the model and --data the shards name must be readable (--unsafe as they
    were run). attribute: the tables and maps are joined, the figures copied, the grid redrawn
    from the --images folder. Example:

    \b
        nnvisual merge results/deconv-shard-0 results/deconv-shard-1 --out results/deconv-all
    """
    from nnvisual import runs
    from nnvisual.config import to_dict

    command_name, config, shard_runs = shard_set(paths)
    if command_name == "deconv":
        write = deconv_merge(shard_runs, config, unsafe)  # every UserError, before the run folder
    elif command_name == "atlas":
        write = atlas_merge(shard_runs, config)
    else:
        verify_attribute_shards(shard_runs)

        def write(run, progress):
            merge_attribute(run, shard_runs, config)
    run = runs.create_run(command_name, "merged", to_dict(config), out, force)
    run.manifest.update(merged=[str(path) for path, _ in shard_runs])
    with options.interruptible(run), options.progress_bar("merging") as progress:
        write(run, progress)
    click.echo(f"wrote {run.path}")


def shard_set(paths):
    """``(command, config without the shard, [(path, manifest)] in shard order)`` of complete
    shard runs of one command whose settings (and data) are equal but for ``shard``; UserError
    otherwise."""
    from nnvisual import runs
    from nnvisual.config import AtlasConfig, AttributeConfig, DeconvConfig, load_config
    from nnvisual.errors import UserError
    from nnvisual.runtime import shards

    configs = {"deconv": DeconvConfig, "attribute": AttributeConfig, "atlas": AtlasConfig}
    found = []
    for path in paths:
        manifest = runs.read_manifest(path)
        if manifest is None:
            raise UserError(f"{path} is not a run folder (no readable {runs.MANIFEST})")
        name = manifest.get("command")
        if name not in configs:
            raise UserError(f"{path} is a '{name}' run: only deconv --top9, attribute and atlas "
                            "runs have shards")
        if manifest.get("status") != "complete":
            raise UserError(f"{path} is an incomplete '{name}' run (status: "
                            f"{manifest.get('status')}); rerun that shard first")
        if manifest["config"].get("shard") is None:
            raise UserError(f"{path} is not a shard run (it was run without --shard)")
        found.append((Path(path), manifest))
    (first, reference), settings = found[0], _settings(found[0][1])
    for path, manifest in found[1:]:
        if manifest["command"] != reference["command"]:
            raise UserError(f"cannot merge a '{reference['command']}' run ({first}) with a "
                            f"'{manifest['command']}' run ({path})")
        other = _settings(manifest)
        key = next((key for key in sorted(settings.keys() | other.keys())
                    if settings.get(key) != other.get(key)), None)
        if key is not None:
            raise UserError(f"{first} and {path} differ in '{key}' ({settings.get(key)!r} vs "
                            f"{other.get(key)!r}): shards share every setting but --shard")
    shards.check_complete([manifest["config"]["shard"] for _, manifest in found])
    found.sort(key=lambda item: shards.parse(item[1]["config"]["shard"]).index)
    config = load_config(configs[reference["command"]], None,
                         {**reference["config"], "shard": None})
    return reference["command"], config, found


def _settings(manifest) -> dict:
    """What must be equal across the shards: the config but the shard, the data scanned and the
    Keras backend (another backend rounds differently)."""
    return {**manifest["config"], "shard": None, "data": manifest.get("data"),
            "backend": manifest.get("backend")}


def deconv_merge(shard_runs, config, unsafe):
    """The global top-9 of each channel from the shards' candidates (:data:`SCAN_FILE`), and
    ``write(run, progress)``, which writes the unsharded run's projections, tables and figures,
    computed from them by the same step, into ``run``."""
    import keras
    import numpy as np

    from nnvisual import runs
    from nnvisual.api import _project as api
    from nnvisual.commands.deconv import SCAN_FILE
    from nnvisual.deconv.projector import merge_top
    from nnvisual.errors import UserError
    from nnvisual.steps import deconv as step

    backend = shard_runs[0][1]["backend"]
    if keras.backend.backend() != backend:
        raise UserError(f"the shards ran on {backend}: merge them there too "
                        f"(KERAS_BACKEND={backend})")
    for path, manifest in shard_runs:
        runs.verify_outputs(path, manifest, [SCAN_FILE])
    data, layers = shard_runs[0][1]["data"], shard_runs[0][1]["layers"]
    inputs = api.prepare(config, data=data, unsafe=unsafe)  # every UserError, before the run folder
    parts = []
    for path, _ in shard_runs:
        with np.load(path / SCAN_FILE) as arrays:
            parts.append(step.read_candidates(arrays, layers))
    candidates = [merge_top(layer_parts, step.TOP_N) for layer_parts in zip(*parts, strict=True)]

    def write(run, progress):
        run.manifest.update(data=data)
        api.Projections(config, step.project(inputs, config, progress, candidates)).write(run)

    return write


def atlas_merge(shard_runs, config):
    """``write(run, progress)``, which writes the atlas of the shards' channel blocks joined in
    shard order (each shard's ``atlas.npz``, checked first): the unsharded run's files."""
    import numpy as np

    from nnvisual import runs
    from nnvisual.api import _atlas as api
    from nnvisual.steps import atlas as step

    parts = []
    for path, manifest in shard_runs:
        runs.verify_outputs(path, manifest, [api.ARRAYS])
        with np.load(path / api.ARRAYS) as arrays:
            parts.append(step.read_atlas(arrays, manifest["layers"], manifest["shapes"],
                                         manifest["class_names"]))
    reference = shard_runs[0][1]

    def write(run, progress):
        run.manifest.update(data=reference.get("data"))
        api.AtlasPages(config, step.merge(parts), reference["model_name"]).write(run)

    return write


MAPS, TABLE = "attributions.npz", "tables/attributions.csv"  # an attribute shard's maps and table


def verify_attribute_shards(shard_runs) -> None:
    """UserError unless every file the merge reads from the attribute shards (table, maps and
    the figure of each image) is as its run recorded it; before anything is written."""
    import numpy as np

    from nnvisual import runs

    for path, manifest in shard_runs:
        if MAPS not in (manifest.get("outputs") or {}):  # no image of the shard could be read
            continue
        runs.verify_outputs(path, manifest, [TABLE, MAPS])
        with np.load(path / MAPS) as arrays:
            names = [str(name) for name in arrays["images"]]
        runs.verify_outputs(path, manifest, [f"figures/{name}.png" for name in names])


def merge_attribute(run, shard_runs, config) -> None:
    """The shards' table rows and maps one after the other (streamed to the run's temporary rows:
    memory holds one shard's maps), their figures copied, the grid of the first images redrawn.
    The files read were checked first (:func:`verify_attribute_shards`)."""
    import numpy as np

    from nnvisual.api._attribute import GRID_IMAGES
    from nnvisual.steps import attribute as step

    rows, names, skipped, grid_maps = [], [], [], []
    with run.row_arrays() as maps:
        for path, manifest in shard_runs:
            skipped += [name for name in manifest.get("skipped", []) if name not in skipped]
            if MAPS not in manifest["outputs"]:  # no image of the shard could be read
                continue
            rows += _csv_rows(path / TABLE)
            with np.load(path / MAPS) as arrays:
                shard_names = [str(name) for name in arrays["images"]]
                shard_maps = {method: arrays[method] for method in config.methods}
            maps.append(**shard_maps)
            if len(names) < GRID_IMAGES:
                grid_maps.append({method: m[:GRID_IMAGES - len(names)].copy()
                                  for method, m in shard_maps.items()})
            for name in shard_names:
                _copy_figure(run, path, f"figures/{name}.png")
            names += shard_names
        if not names:
            return
        run.write_csv(TABLE, step.TABLE_HEADER, rows)
        run.write_npz_rows(MAPS, maps, images=np.array(names))
    _write_grid(run, config, names[:GRID_IMAGES], rows,
                {method: np.concatenate([m[method] for m in grid_maps]) for method in config.methods})
    reference = shard_runs[0][1]
    run.manifest.update(skipped=skipped, cam_layer=reference.get("cam_layer"),
                        display=reference.get("display"))


def _csv_rows(path) -> list[list[str]]:
    """The rows of a CSV table, as the strings written (header left out)."""
    import csv

    with open(path, newline="") as handle:
        return list(csv.reader(handle))[1:]


def _copy_figure(run, shard_path: Path, relative: str) -> None:
    """A shard's PNG figure into ``run``, pixel for pixel."""
    from nnvisual import data

    run.write_image(relative, data.read_image(shard_path / relative))


def _write_grid(run, config, names, rows, maps) -> None:
    """``figures/grid.png`` as the unsharded run draws it: the first images (read again from
    ``config.images``, at the maps' size), their class and probability, and their ``maps``."""
    from nnvisual import data
    from nnvisual.plots import attribution as plots

    size = next(iter(maps.values())).shape[1:3]
    explained = {}  # image -> (class name, probability) of its table rows
    for row in rows:
        explained.setdefault(row[0], (row[3], float(row[4])))
    images = [data.resize(data.read_image(Path(config.images) / name), size) for name in names]
    run.write_figure("figures/grid.png", plots.grid_figure(
        images, names, [explained[name][0] for name in names],
        [explained[name][1] for name in names], maps))
