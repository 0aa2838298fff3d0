# Thin wrapper over CMake. `make run` and `make test` install what they need first (scripts/install-deps.sh).
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
ROOT_DIR ?= /var/lib/nanolet
RUN_FLAGS ?=

.PHONY: all build deps run test unit e2e asan tsan fuzz bench format clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/build.ninja $(BUILD)/Makefile:
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null

build: $(BUILD)/Makefile
	@cmake --build $(BUILD) -j $(JOBS)

# Builds, imports the bundled test image and runs nanolet on examples/manifests in the foreground.
run: deps build
	@scripts/build-test-image.sh $(BUILD)/images/busybox.oci.tar
	@$(BUILD)/nanolet images import --root-dir $(ROOT_DIR) $(BUILD)/images/busybox.oci.tar >/dev/null
	$(BUILD)/nanolet --pod-manifest-path examples/manifests --root-dir $(ROOT_DIR) $(RUN_FLAGS)

# Everything CI runs: unit tests, end-to-end tests on real runc, the ASan+UBSan unit build, short fuzz runs.
# One ASan+UBSan build ($(BUILD)-asan) runs everything: see scripts/test.sh.
test: deps
	@scripts/test.sh $(BUILD)

unit: build
	@cd $(BUILD) && ctest -L unit --output-on-failure -j $(JOBS)

e2e: build
	@cd $(BUILD) && ctest -L e2e --output-on-failure -j $(JOBS)

asan:
	@cmake -S . -B $(BUILD)-asan -DNANOLET_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-O0 -g1" "-DCMAKE_C_FLAGS_DEBUG=-O0 -g1" >/dev/null
	@cmake --build $(BUILD)-asan -j $(JOBS)

# The unit tests of the concurrent modules under ThreadSanitizer (not part of `make test`: see README).
TSAN_MODULES := $(notdir $(wildcard $(addprefix tests/unit/,util config kubelet server prober)))
tsan:
	@cmake -S . -B $(BUILD)-tsan -DNANOLET_TSAN=ON >/dev/null
	@cmake --build $(BUILD)-tsan -j $(JOBS) $(addprefix --target unit_,$(TSAN_MODULES))
	@set -e; for m in $(TSAN_MODULES); do echo "== unit_$$m under TSan"; \
	  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 $(TSAN_OPTIONS)" setarch -R $(BUILD)-tsan/tests/unit_$$m; done

fuzz:
	@cmake -S . -B $(BUILD)-fuzz -DNANOLET_FUZZ=ON -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ >/dev/null
	@cmake --build $(BUILD)-fuzz -j $(JOBS) --target fuzzers

bench: deps build
	@bench/run.sh $(BUILD)

format:
	@clang-format -i $$(git ls-files '*.cc' '*.h' '*.c')

clean:
	rm -rf $(BUILD) $(BUILD)-asan $(BUILD)-tsan $(BUILD)-fuzz
