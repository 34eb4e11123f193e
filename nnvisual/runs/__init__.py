"""Run folders: one per command invocation, with a manifest and atomically written outputs.

:mod:`~nnvisual.runs.folder` creates and writes them (the command layer's);
:mod:`~nnvisual.runs.reading` reads one that another command wrote (and checks the files read
against the sha256s its manifest recorded); :mod:`~nnvisual.runs.environment`
says where a run ran; :mod:`~nnvisual.runs.rows` keeps growing arrays on disk until they are
written.
"""

from nnvisual.runs.environment import device_description, versions  # noqa: F401
from nnvisual.runs.folder import (  # noqa: F401
    RESULTS_DIR,
    Run,
    create_run,
    default_run_path,
    file_name,
    open_run,
    running,
)
from nnvisual.runs.reading import (  # noqa: F401
    MANIFEST,
    output_problem,
    read_manifest,
    require_complete_run,
    verify_outputs,
    verify_run_file,
)
from nnvisual.runs.rows import RowArrays  # noqa: F401
