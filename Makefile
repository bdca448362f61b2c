# peermesh front door. `make demo` and `make test` work on a fresh Debian 12
# machine: they install what is missing first (scripts/install-deps.sh).
BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_FUZZ ?= build-fuzz
JOBS       ?= $(shell nproc)
FUZZ_SECONDS ?= 20
CMAKE_FLAGS ?=

.PHONY: all deps deps-build build test test-main test-asan test-fuzz format format-check check-layers demo bench bench-report docs clean

all: build

deps-build:
	bash scripts/install-deps.sh build

deps:
	bash scripts/install-deps.sh build interop

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

build: deps-build $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	./$(BUILD)/peermesh demo

bench: build
	./$(BUILD)/peermesh bench all
	./$(BUILD)/peermesh-godot3-bench

# The plots of docs/performance.md: run the benchmarks, draw them (gnuplot).
bench-report: build
	bash scripts/install-deps.sh bench-report
	bash scripts/bench-report.sh $(BUILD) docs/figures

# The figures of docs/ from their sources (docs/figures/*.dot, Graphviz). The SVGs
# are committed, so reading the docs or building needs no Graphviz.
docs:
	bash scripts/install-deps.sh docs
	for f in docs/figures/*.dot; do dot -Tsvg "$$f" -o "$${f%.dot}.svg" || exit 1; done
	@echo "docs: figures rendered into docs/figures/"

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	@out=$$(clang-format --dry-run $$(git ls-files '*.c' '*.h') 2>&1); \
	if [ -n "$$out" ]; then echo "$$out" | head -40; echo "format-check: run 'make format'"; exit 1; fi; \
	echo "format-check: ok"

# Every #include against the layer table src/layers.txt (a fraction of a second).
check-layers:
	bash scripts/check-layers.sh

# The whole suite, then unit+sim under ASan+UBSan, then a fuzz smoke run.
test: check-layers deps format-check build test-main test-asan test-fuzz
	@echo "make test: all stages passed"

test-main: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -LE interop
	cd $(BUILD) && ctest --output-on-failure -L interop

test-asan: deps-build
	cmake -S . -B $(BUILD_ASAN) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DPM_SANITIZE=ON -DPM_APPS=OFF
	cmake --build $(BUILD_ASAN) -j $(JOBS)
	cd $(BUILD_ASAN) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		ctest --output-on-failure -j $(JOBS) -L 'unit|sim'

test-fuzz: deps-build
	CC=clang cmake -S . -B $(BUILD_FUZZ) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DPM_FUZZ=ON -DPM_TESTS=OFF -DPM_APPS=OFF
	cmake --build $(BUILD_FUZZ) -j $(JOBS)
	bash scripts/fuzz-smoke.sh $(BUILD_FUZZ) $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ)
