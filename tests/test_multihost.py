"""Training on several processes (docs/distributed.md "Several hosts").

Two processes on this machine, each with its own CPU device, join over the loopback address
(``KERAS_DISTRIBUTION_*`` variables, as a job runner would set them) and train a tiny network
data-parallel; both must end with the same weights, and with those of one process training on
the same global batches. JAX only: Keras 3.15 cannot train under TensorFlow's
MultiWorkerMirroredStrategy (keras-team/keras#20585), which the refusals below check.
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from nnvisual.config import TrainConfig
from nnvisual.errors import UserError
from nnvisual.testing.multihost_worker import train_tiny
from nnvisual.training import multihost

REPO = Path(__file__).resolve().parents[1]
JAX_ONLY = pytest.mark.skipif(keras.backend.backend() != "jax",
                              reason="several training processes run on JAX only (keras-team/keras#20585)")
WORKER = ("import json; from nnvisual.testing.multihost_worker import train_tiny; "
          "print('RESULT' + json.dumps(train_tiny()))")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@JAX_ONLY
def test_two_processes_train_the_single_process_model(monkeypatch):
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key != "XLA_FLAGS"}  # one CPU device each
    # TensorFlow hidden (tests/no_tensorflow): several hosts need none, and it saves each worker its import
    env.update(KERAS_BACKEND="jax", JAX_PLATFORMS="cpu", CUDA_VISIBLE_DEVICES="",
               PYTHONPATH=os.pathsep.join([str(REPO / "tests" / "no_tensorflow"), str(REPO)]),
               KERAS_DISTRIBUTION_JOB_ADDRESSES=f"127.0.0.1:{port}", KERAS_DISTRIBUTION_NUM_PROCESSES="2")
    workers = [subprocess.Popen([sys.executable, "-c", WORKER],
                                env={**env, "KERAS_DISTRIBUTION_PROCESS_ID": str(process)},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for process in range(2)]
    try:
        outputs = [worker.communicate(timeout=300) for worker in workers]
    finally:
        for worker in workers:
            worker.kill()
    for worker, (_, stderr) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, stderr[-3000:]
    first, second = (json.loads(stdout.rpartition("RESULT")[2]) for stdout, _ in outputs)

    for name in multihost.ENVIRONMENT.values():
        monkeypatch.delenv(name, raising=False)
    single = train_tiny()  # this process alone
    assert len(first["devices"]) == 2
    assert first["devices"] == second["devices"]
    assert first["weights"] == second["weights"]  # the same replicated weights, bit for bit
    assert first["history"]["loss"] == second["history"]["loss"]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert first["history"][key] == pytest.approx(single["history"][key], rel=1e-5, abs=1e-6), key
    for mine, theirs in zip(first["weights"], single["weights"], strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-4, atol=1e-6)


def test_a_coordinator_that_never_answers_is_one_line_after_the_timeout(cli, isolated):
    result = cli("train", "--distribute", "data-parallel", "--coordinator", f"127.0.0.1:{free_port()}",
                 "--num-processes", "2", "--process-id", "1", "--coordinator-timeout", "1", "--out", "run")
    assert result.exit_code == 2
    expected = ("no coordinator answered at 127.0.0.1:" if keras.backend.backend() == "jax"
                else "several training processes need the jax backend")
    assert expected in result.output and len(result.output.strip().splitlines()) == 1, result.output
    assert not (isolated / "run").exists()


def test_settings_come_from_keras_environment_variables_unless_given():
    environ = {"KERAS_DISTRIBUTION_JOB_ADDRESSES": "10.0.0.1:1234,10.0.0.2:2345",
               "KERAS_DISTRIBUTION_NUM_PROCESSES": "2", "KERAS_DISTRIBUTION_PROCESS_ID": "1"}
    config = multihost.resolve(TrainConfig(distribute="data-parallel"), environ)
    assert (config.coordinator, config.num_processes, config.process_id) == ("10.0.0.1:1234", 2, 1)
    assert multihost.several(config) and multihost.run_name(config) == "plotka-process-1"
    given = multihost.resolve(TrainConfig(distribute="data-parallel", process_id=0), environ)
    assert given.process_id == 0
    alone = multihost.resolve(TrainConfig(), {})
    assert not multihost.several(alone) and multihost.run_name(alone) == "plotka"


@pytest.mark.parametrize("settings, environ, message", [
    (dict(num_processes=2, process_id=0), {}, "need the coordinator's HOST:PORT"),
    (dict(coordinator="h:1", num_processes=2), {}, "need this process's process_id"),
    (dict(coordinator="h:1", num_processes=2, process_id=2), {}, "process_id must be in [0, 1]"),
    (dict(coordinator="h:1", process_id=1), {}, "need num_processes above 1"),
    (dict(coordinator="h", num_processes=2, process_id=0), {}, "coordinator must be HOST:PORT"),
    (dict(), {"KERAS_DISTRIBUTION_NUM_PROCESSES": "two"}, "KERAS_DISTRIBUTION_NUM_PROCESSES must be a whole"),
])
def test_inconsistent_settings_are_refused(settings, environ, message):
    with pytest.raises(UserError) as error:
        multihost.resolve(TrainConfig(distribute="data-parallel", **settings), environ)
    assert message in str(error.value)


def test_several_processes_need_data_parallel():
    with pytest.raises(UserError, match="need distribute: data-parallel"):
        multihost.resolve(TrainConfig(coordinator="h:1", num_processes=2, process_id=0))


@pytest.mark.parametrize("backend", ["tensorflow", "torch"])
def test_other_backends_are_refused_in_one_line(monkeypatch, backend):
    monkeypatch.setattr(keras.backend, "backend", lambda: backend)
    config = TrainConfig(distribute="data-parallel", coordinator="h:1", num_processes=2, process_id=0)
    with pytest.raises(UserError, match="need the jax backend") as error:
        multihost.join(config, {})
    assert "\n" not in str(error.value)


def test_a_tf_config_of_several_workers_is_refused_on_tensorflow(monkeypatch):
    monkeypatch.setattr(keras.backend, "backend", lambda: "tensorflow")
    tf_config = json.dumps({"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]},
                            "task": {"type": "worker", "index": 0}})
    with pytest.raises(UserError, match=r"TF_CONFIG lists 2 tasks, but .*keras-team/keras#20585"):
        multihost.join(TrainConfig(distribute="data-parallel"), {"TF_CONFIG": tf_config})
    multihost.join(TrainConfig(), {"TF_CONFIG": tf_config})  # not distributed: TF_CONFIG plays no part
