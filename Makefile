# A thin layer over meson. `make demo` and `make test` install what is missing first.
BUILD ?= build

.PHONY: all deps demo test test-long clean

all: $(BUILD)/build.ninja
	meson compile -C $(BUILD)

deps:
	@./tools/deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD)

# The seed's authors/books program, then the same on a libuv loop with a file.
demo: deps $(BUILD)/build.ninja
	meson compile -C $(BUILD)
	./$(BUILD)/examples/books
	rm -f $(BUILD)/async_books.db $(BUILD)/async_books.db-lock
	./$(BUILD)/examples/async_books $(BUILD)/async_books.db

# Every test, in a plain build and again under AddressSanitizer + UndefinedBehaviorSanitizer;
# the threaded and async tests also under ThreadSanitizer.
test: deps
	./tools/test.sh

# The long runs: the crash test at 10,000 points, the damage test with 10,000 flips.
test-long: deps $(BUILD)/build.ninja
	meson compile -C $(BUILD)
	meson test -C $(BUILD) --suite long --print-errorlogs

clean:
	rm -rf build build-asan build-tsan
