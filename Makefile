# Arbor's two commands:
#   make demo   installs what is missing, builds release, runs the demo job on a local cluster
#   make test   installs what the tests need, runs the whole suite
# Everything else here is a step of those two.

SWIFT ?= swift
# One release build serves the demo, the benchmarks and the test suite (engine tests need
# optimised code; -enable-testing lets tests see internal declarations).
SWIFT_TEST_FLAGS ?= -c release -Xswiftc -enable-testing
RUN_DIR ?= runs/demo
WORKERS ?= 2

.PHONY: demo test deps model build test-deps swift-tests python-tests interop examples-check clean

demo: deps model build
	.build/release/arbor run --config examples/demo.yaml --workers $(WORKERS) --run-dir $(RUN_DIR) \
		--bind tcp://127.0.0.1:0 --control tcp://127.0.0.1:0 --http 127.0.0.1:0

test: deps model test-deps examples-check interop swift-tests python-tests

deps:
	scripts/install-system-deps

model:
	scripts/fetch-model

build:
	$(SWIFT) build -c release --product arbor

test-deps:
	scripts/install-test-deps

examples-check:
	python3 examples/generate.py --check

interop:
	$(MAKE) -C clients/c

# Integration tests run real processes and wait on them with blocking calls; they run after
# the rest, one suite at a time, so they never starve the unit tests' async work of threads.
swift-tests:
	$(SWIFT) build $(SWIFT_TEST_FLAGS) --build-tests
	$(SWIFT) test $(SWIFT_TEST_FLAGS) --skip-build --skip IntegrationTests
	$(SWIFT) test $(SWIFT_TEST_FLAGS) --skip-build --filter IntegrationTests --no-parallel

python-tests:
	scripts/run-python-tests

clean:
	rm -rf .build clients/c/build
