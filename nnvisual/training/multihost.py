"""Training on several processes or hosts: each process joins JAX's distributed runtime
before anything else runs, so that ``--distribute data-parallel`` spans every process's devices.

The processes are named by ``coordinator`` (``HOST:PORT`` where process 0 listens),
``num_processes`` and ``process_id`` (config keys and flags), or else by Keras' own environment
variables (``keras.distribution.initialize``): ``KERAS_DISTRIBUTION_JOB_ADDRESSES`` (the first of
its comma-separated addresses is the coordinator), ``KERAS_DISTRIBUTION_NUM_PROCESSES``,
``KERAS_DISTRIBUTION_PROCESS_ID``. Every process then sees all processes' devices
(``jax.devices()``), and Keras' ``DataParallel`` gives each process its own slice of every global
batch (docs/distributed.md, "Several hosts").

JAX only: Keras 3.15 cannot ``fit`` under TensorFlow's ``MultiWorkerMirroredStrategy`` (its
``_maybe_symbolic_build`` reduces a distributed input batch, which fails across workers;
keras-team/keras#20585), so several workers on TensorFlow, by these settings or ``TF_CONFIG``,
are refused with one line.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import socket
import time

import keras

from nnvisual.config import TrainConfig, check_cluster
from nnvisual.errors import UserError, named

ENVIRONMENT = {"coordinator": "KERAS_DISTRIBUTION_JOB_ADDRESSES",
               "num_processes": "KERAS_DISTRIBUTION_NUM_PROCESSES",
               "process_id": "KERAS_DISTRIBUTION_PROCESS_ID"}


def multi_worker_tensorflow() -> str:
    """Why several TensorFlow processes cannot train together, and what to do instead."""
    return ("Keras 3 cannot train under TensorFlow's MultiWorkerMirroredStrategy (keras-team/keras#20585); "
            f"train on several processes with KERAS_BACKEND=jax and {named('coordinator')}, "
            f"{named('num_processes')}, {named('process_id')}")


def resolve(config: TrainConfig, environ=os.environ) -> TrainConfig:
    """``config`` with its unset ``coordinator``, ``num_processes`` and ``process_id`` taken from
    Keras' environment variables, so that the run's config names its processes; inconsistent
    settings are a UserError (:func:`nnvisual.config.check_cluster`)."""
    found = {key: _from_environment(key, variable, environ[variable])
             for key, variable in ENVIRONMENT.items()
             if getattr(config, key) is None and environ.get(variable)}
    config = dataclasses.replace(config, **found)
    check_cluster(config.distribute, config.coordinator, config.num_processes, config.process_id)
    return config


def _from_environment(key: str, variable: str, text: str):
    if key == "coordinator":
        return text.split(",")[0].strip()
    try:
        return int(text)
    except ValueError:
        raise UserError(f"{variable} must be a whole number, got '{text}'") from None


def several(config: TrainConfig) -> bool:
    """Whether ``config`` (after :func:`resolve`) trains on several processes."""
    return (config.num_processes or 1) > 1


def run_name(config: TrainConfig) -> str:
    """The name of a train run folder: the model's, and ``process-I`` on several processes (each
    writes its own run folder, all holding the same model)."""
    return f"{config.model}-process-{config.process_id}" if several(config) else config.model


def join(config: TrainConfig, environ=os.environ) -> None:
    """Join the other processes that ``config`` (after :func:`resolve`) names, by
    ``jax.distributed.initialize``, before anything has run on a JAX device; nothing for one process.

    A process other than 0 first waits up to ``config.coordinator_timeout`` seconds for the
    coordinator to accept connections, and then gives up with one line (UserError): JAX itself
    would abort the process when its own wait runs out."""
    backend = keras.backend.backend()
    if backend == "tensorflow" and several(config):
        raise UserError(f"several training processes need the jax backend: {multi_worker_tensorflow()}")
    tasks = _tf_config_tasks(environ)
    if backend == "tensorflow" and config.distribute == "data-parallel" and tasks > 1:
        raise UserError(f"TF_CONFIG lists {tasks} tasks, but {multi_worker_tensorflow()}")
    if not several(config):
        return
    if backend != "jax":
        raise UserError(f"several training processes need the jax backend, not {backend}")
    import jax

    deadline = time.monotonic() + config.coordinator_timeout
    if config.process_id > 0:
        _wait_for(config.coordinator, deadline, config.coordinator_timeout)
    jax.distributed.initialize(config.coordinator, config.num_processes, config.process_id,
                               initialization_timeout=max(1, math.ceil(deadline - time.monotonic())),
                               shutdown_timeout_seconds=math.ceil(config.coordinator_timeout))


def _wait_for(coordinator: str, deadline: float, timeout: float) -> None:
    """Return once ``coordinator`` (HOST:PORT) accepts a TCP connection; UserError at ``deadline``."""
    host, _, port = coordinator.rpartition(":")
    while True:
        try:
            with socket.create_connection((host.strip("[]"), int(port)),
                                          timeout=max(0.1, min(1.0, deadline - time.monotonic()))):
                return
        except OSError:
            if time.monotonic() >= deadline:
                raise UserError(f"no coordinator answered at {coordinator} within {timeout:g} s "
                                f"(coordinator_timeout); start process 0 there first, or check the "
                                f"address") from None
            time.sleep(0.2)


def _tf_config_tasks(environ) -> int:
    """How many tasks ``TF_CONFIG`` (TensorFlow's cluster description) lists; 0 when unset."""
    if not environ.get("TF_CONFIG"):
        return 0
    try:
        tasks = json.loads(environ["TF_CONFIG"]).get("cluster", {}).values()
    except (ValueError, AttributeError):
        raise UserError("TF_CONFIG is not a JSON object with a 'cluster' of task lists") from None
    return sum(len(addresses) for addresses in tasks)
