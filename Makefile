# nnvisual: set-up, tests and the study's reproduction. `make help` lists the targets.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: help install test test-jax test-all lint demo demo-imagenet atlas-demo localisation-demo reproduce reproduce-bonaccorso bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

install: $(STAMP)  ## create .venv and install nnvisual with its dev tools and JAX (CPU)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev,jax]"
	touch $(STAMP)

test: install  ## the default test suite on TensorFlow (minutes on a 2-core CPU)
	$(BIN)/pytest -q -m "not slow"

test-jax: install  ## the default test suite again on Keras' JAX backend
	KERAS_BACKEND=jax $(BIN)/pytest -q -m "not slow"

test-all: install  ## every test, the slow end-to-end ones included
	$(BIN)/pytest -q

lint: install  ## ruff
	$(BIN)/ruff check nnvisual tests scripts

demo: install  ## the whole study, small and fast (configs/quick.yaml) -> results/demo/, then demo-imagenet
	PATH="$(CURDIR)/$(BIN):$$PATH" scripts/reproduce.sh configs/quick.yaml results/demo
	$(MAKE) --no-print-directory demo-imagenet

demo-imagenet: install  ## EfficientNet-Lite0: DeconvNet/guided projections of 2 photos, class 284 (configs/imagenet.yaml) -> results/demo-imagenet/
	PATH="$(CURDIR)/$(BIN):$$PATH" scripts/demo_imagenet.sh configs/imagenet.yaml results/demo-imagenet

LOC := results/localisation
atlas-demo: install  ## atlases (docs/atlas.md): plotka trained briefly on CIFAR-10, every channel; EfficientNet-Lite0, 2 layers x 8 channels -> results/atlas-demo/
	PATH="$(CURDIR)/$(BIN):$$PATH" scripts/atlas_demo.sh results/atlas-demo

localisation-demo: install  ## the controlled localisation benchmark (docs/evaluation.md): data, plotka trained briefly, its checks, evaluate (Grad-CAM also at conv4) -> results/localisation/
	$(BIN)/python scripts/localisation.py data --out $(LOC)/data --per-class 1000 --test-per-class 100 --seed 0 --force
	$(BIN)/nnvisual train --model plotka --data $(LOC)/data --epochs 12 --lr 0.001 --batch-size 64 \
	    --val-split 0.1 --no-augment --seed 0 --out $(LOC)/train --force
	$(BIN)/python scripts/localisation.py check --model $(LOC)/train --data $(LOC)/data > $(LOC)/check.txt && cat $(LOC)/check.txt
	$(BIN)/nnvisual evaluate --model $(LOC)/train --images $(LOC)/data/images --masks $(LOC)/data/masks \
	    --max-images 200 --method gradcam,saliency,integrated-gradients,lrp-epsilon-plus-flat --steps 32 \
	    --metric pointing-game,relevance-mass-accuracy,relevance-rank-accuracy --out $(LOC)/evaluate --force
	$(BIN)/nnvisual evaluate --model $(LOC)/train --images $(LOC)/data/images --masks $(LOC)/data/masks \
	    --max-images 200 --method gradcam --layer conv4 \
	    --metric pointing-game,relevance-mass-accuracy,relevance-rank-accuracy --out $(LOC)/evaluate-conv4 --force

reproduce: install  ## the whole study with the paper's settings (configs/paper.yaml) -> results/paper/; prints Table 3 three ways
	PATH="$(CURDIR)/$(BIN):$$PATH" scripts/reproduce.sh configs/paper.yaml results/paper

reproduce-bonaccorso: install  ## Table 2: bonaccorso for 250 epochs (hours on a CPU)
	$(BIN)/nnvisual train --config configs/bonaccorso.yaml --out results/paper/train-bonaccorso

bench: install  ## benchmarks vs baselines -> results/bench/bench.csv (BENCH="--quick" or "--only train,deconv")
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev,jax,bench,reference,lucent,quantus-deps]"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps quantus==0.6.0
	$(BIN)/python scripts/bench.py $(BENCH)

clean:  ## remove the virtual environment, caches and results (keeps results/README.md)
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
	find results -mindepth 1 ! -name README.md -exec rm -rf {} +
