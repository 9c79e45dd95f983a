# Arbor's two commands:
#   make demo   installs what is missing, builds release, runs the demo job on a local cluster
#   make test   installs what the tests need, runs the whole suite
# and the training run:
#   make train  the demo's setup plus PyTorch, then trains the model on examples/train.yaml
# Everything else here is a step of those.

SWIFT ?= swift
# One release build serves the demo, the benchmarks and the test suite (engine tests need
# optimised code; -enable-testing lets tests see internal declarations).
SWIFT_TEST_FLAGS ?= -c release -Xswiftc -enable-testing
RUN_DIR ?= runs/demo
# Empty: arbor run's defaults (one engine worker on all cores, its slots sized to fill the
# batch); e.g. `make demo WORKERS=2 SLOTS=1` for another layout.
WORKERS ?=
SLOTS ?=
# make train: policy versions to publish (the warm start is version 1; each later version is one
# RL step on one batch), its run directory, and one engine worker serving 32 trees at once (one
# batched engine on the machine's cores beats several competing for them).
VERSIONS ?= 10
TRAIN_DIR ?= runs/train
TRAIN_SLOTS ?= 32

.PHONY: demo train train-run test deps model build trainer-deps test-deps swift-tests python-tests interop examples-check clean

demo: deps model build
	.build/release/arbor run --config examples/demo.yaml $(if $(WORKERS),--workers $(WORKERS)) \
		$(if $(SLOTS),--slots $(SLOTS)) --run-dir $(RUN_DIR) \
		--bind tcp://127.0.0.1:0 --control tcp://127.0.0.1:0 --http 127.0.0.1:0

# The warm start's conversations become token ids exactly as rollouts hold them; the job runs
# VERSIONS - 1 RL batches: the trainer publishes the warm start, then a version per batch it
# trains on (a batch whose rows all went stale meanwhile is skipped).
train: deps model build trainer-deps train-run

# The training run alone, on what is already built and installed (the suite runs it this way).
train-run:
	rm -rf $(TRAIN_DIR) && mkdir -p $(TRAIN_DIR)
	.build/release/arbor model render --config examples/train.yaml --traces examples/tasks/warm_start.jsonl \
		--out $(TRAIN_DIR)/warm_start.ids.jsonl
	.build/release/arbor run --config examples/train.yaml --workers 1 --slots $(TRAIN_SLOTS) \
		--batches $$(( $(VERSIONS) - 1 )) --run-dir $(TRAIN_DIR) \
		--bind tcp://127.0.0.1:0 --control tcp://127.0.0.1:0 --http 127.0.0.1:0

test: deps model test-deps examples-check interop swift-tests python-tests

deps:
	scripts/install-system-deps

model:
	scripts/fetch-model

build:
	$(SWIFT) build $(SWIFT_TEST_FLAGS) --product arbor

trainer-deps:
	scripts/install-trainer-deps

test-deps:
	scripts/install-test-deps

examples-check:
	python3 examples/generate.py --check

interop:
	$(MAKE) -C clients/c

# Integration tests run real processes and wait on them with blocking calls; they run after
# the rest, one suite at a time, so they never starve the unit tests' async work of threads.
# Each run has a time limit far above its usual length (unit ~3 min, integration ~6 min on two
# cores): a hung test then fails the run by name, with where its threads wait, instead of
# holding CI until its own limit.
UNIT_TEST_LIMIT_S ?= 1200
INTEGRATION_TEST_LIMIT_S ?= 2400
swift-tests:
	$(SWIFT) build $(SWIFT_TEST_FLAGS) --build-tests
	scripts/run-swift-tests $(UNIT_TEST_LIMIT_S) -- \
		$(SWIFT) test $(SWIFT_TEST_FLAGS) --skip-build --skip IntegrationTests
	scripts/run-swift-tests $(INTEGRATION_TEST_LIMIT_S) -- \
		$(SWIFT) test $(SWIFT_TEST_FLAGS) --skip-build --filter IntegrationTests --no-parallel

python-tests:
	scripts/run-python-tests

clean:
	rm -rf .build clients/c/build
