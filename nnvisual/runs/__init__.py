"""Run folders: one per command invocation, with a manifest and atomically written outputs."""

from nnvisual.runs.folder import (  # noqa: F401
    MANIFEST,
    RESULTS_DIR,
    RowArrays,
    Run,
    create_run,
    default_run_path,
    device_description,
    file_name,
    open_run,
    read_manifest,
    require_complete_run,
    running,
    versions,
)
