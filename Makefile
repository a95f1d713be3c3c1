# The three commands a user needs: make, make test, make run.
BUILD_DIR ?= build
ASAN_DIR ?= build-asan
CMAKE_FLAGS ?= -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
JOBS ?= $(shell nproc)

.PHONY: all deps build test run deb asan fuzz bench-smoke bench clean format

all: build

deps:
	@scripts/install-deps

$(BUILD_DIR)/build.ninja: CMakeLists.txt cmake/sources.cmake | deps
	cmake -S . -B $(BUILD_DIR) $(CMAKE_FLAGS)

build: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)

run: build
	@scripts/first-run var $(BUILD_DIR)/postern
	$(BUILD_DIR)/postern serve --config var/postern.toml

# The Debian package, build/postern_VERSION_ARCH.deb (cmake/packaging.cmake).
deb: build
	cd $(BUILD_DIR) && cpack -G DEB

# A small quarantine keeps the RSS bounds of the memory tests meaningful:
# ASan's default 256 MiB of freed-but-held memory would swamp them.
asan: deps
	cmake -S . -B $(ASAN_DIR) $(CMAKE_FLAGS) -DPOSTERN_SANITIZE=ON
	cmake --build $(ASAN_DIR) -j $(JOBS)
	POSTERN_SANITIZED=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:quarantine_size_mb=16 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --test-dir $(ASAN_DIR) --output-on-failure -j $(JOBS)

# libFuzzer on every parser, FUZZ_SECONDS each (clang build in build-fuzz/).
FUZZ_SECONDS ?= 60
fuzz: deps
	cmake -S fuzz -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++-14
	cmake --build build-fuzz -j $(JOBS)
	@for f in pop3 smtp mime canonical settings imap_framer imap_parsers sasl decode; do \
	  mkdir -p build-fuzz/corpus/$$f; \
	  echo "fuzz_$$f: $(FUZZ_SECONDS)s"; \
	  if ! build-fuzz/fuzz_$$f -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 \
	    -artifact_prefix=build-fuzz/ build-fuzz/corpus/$$f > build-fuzz/fuzz_$$f.log 2>&1; then \
	    grep -E 'ERROR|SUMMARY|runtime error' build-fuzz/fuzz_$$f.log; \
	    echo "fuzz_$$f found a failure: build-fuzz/fuzz_$$f.log, input in build-fuzz/"; exit 1; \
	  fi; \
	  grep -E '^Done' build-fuzz/fuzz_$$f.log; \
	done

bench-smoke: build
	bench/compare --quick --search-messages 300 --postern $(BUILD_DIR)/postern

bench: build
	bench/compare --postern $(BUILD_DIR)/postern

format:
	find src tools -name '*.[ch]pp' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) build-fuzz
