# peermesh front door. `make demo` and `make test` work on a fresh Debian 12
# machine: they install what is missing first (scripts/install-deps.sh).
BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_FUZZ ?= build-fuzz
BUILD_WASM ?= build-wasm
JOBS       ?= $(shell nproc)
FUZZ_SECONDS ?= 20
CMAKE_FLAGS ?=

.PHONY: all deps deps-build deps-wasm build wasm test test-main test-wasm test-asan test-fuzz \
	format format-check check-layers demo demo-web bench bench-web bench-report docs clean

all: build

deps-build:
	bash scripts/install-deps.sh build

deps:
	bash scripts/install-deps.sh build test interop wasm

deps-wasm:
	bash scripts/install-deps.sh wasm

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DPM_WASM_WEB_DIR=$(abspath $(BUILD_WASM))/web $(CMAKE_FLAGS)

build: deps-build $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	./$(BUILD)/peermesh demo

# The WebAssembly build (docs/web.md): the library, its JavaScript half and the
# demo page in $(BUILD_WASM)/web. Debian's emscripten runs its tools with the
# machine's Node.js, which must find Debian's node modules (acorn); its
# prebuilt system libraries are used as they are (the cache is frozen: no
# download, no rebuild).
EMENV = NODE_PATH=/usr/share/nodejs$${NODE_PATH:+:$$NODE_PATH}

$(BUILD_WASM)/build.ninja:
	$(EMENV) emcmake cmake -S . -B $(BUILD_WASM) -G Ninja -DCMAKE_BUILD_TYPE=MinSizeRel

wasm: deps-wasm $(BUILD_WASM)/build.ninja
	$(EMENV) cmake --build $(BUILD_WASM) -j $(JOBS)

test-wasm: wasm
	cd $(BUILD_WASM) && $(EMENV) ctest --output-on-failure -j $(JOBS)

# The demo game in a browser: serve it with the signaling server on 127.0.0.1
# until Ctrl-C (docs/web.md).
DEMO_WEB_PORT ?= 8090
demo-web: build wasm
	@echo "demo-web: open the URL below (the page shows the link for more players; native ones:"
	@echo "  ./$(BUILD)/peermesh bot --server ws://127.0.0.1:PORT/ --lobby NAME --count 3); Ctrl-C stops"
	./$(BUILD)/peermesh-signal --bind 127.0.0.1 --port $(DEMO_WEB_PORT) --web-root $(BUILD_WASM)/web

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

# The web demo's budget: page size gzipped, page load to all links open (bench/web.sh).
bench-web: build wasm
	BUILD=$(abspath $(BUILD)) BUILD_WASM=$(abspath $(BUILD_WASM)) bash bench/web.sh 5 chromium
	BUILD=$(abspath $(BUILD)) BUILD_WASM=$(abspath $(BUILD_WASM)) bash bench/web.sh 5 firefox

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	@out=$$(clang-format --dry-run $$(git ls-files '*.c' '*.h') 2>&1); \
	if [ -n "$$out" ]; then echo "$$out" | head -40; echo "format-check: run 'make format'"; exit 1; fi; \
	echo "format-check: ok"

# Every #include against the layer table src/layers.txt (a fraction of a second).
check-layers:
	bash scripts/check-layers.sh

# The whole suite (with the WebAssembly build and its Node.js tests), then unit,
# simulation and integration tests under ASan+UBSan (with the programs the
# integration tests start, sanitized too), then a fuzz smoke run.
test: check-layers deps format-check build wasm test-main test-wasm test-asan test-fuzz
	@echo "make test: all stages passed"

test-main: build wasm
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -LE interop
	cd $(BUILD) && ctest --output-on-failure -L interop

test-asan: deps-build
	cmake -S . -B $(BUILD_ASAN) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DPM_SANITIZE=ON -DPM_APPS=ON
	cmake --build $(BUILD_ASAN) -j $(JOBS)
	cd $(BUILD_ASAN) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		ctest --output-on-failure -j $(JOBS) -L 'unit|sim|integration'

test-fuzz: deps-build
	CC=clang cmake -S . -B $(BUILD_FUZZ) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DPM_FUZZ=ON -DPM_TESTS=OFF -DPM_APPS=OFF
	cmake --build $(BUILD_FUZZ) -j $(JOBS)
	bash scripts/fuzz-smoke.sh $(BUILD_FUZZ) $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ) $(BUILD_WASM)
