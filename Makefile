# A thin layer over meson. `make demo` and `make test` install what is missing first.
BUILD ?= build

.PHONY: all deps demo test test-long bench bench-quick fuzz clean

all: $(BUILD)/build.ninja
	meson compile -C $(BUILD)

deps:
	@./tools/deps.sh

# meson's own output goes to BUILD.setup.log; shown only if the setup fails.
$(BUILD)/build.ninja:
	@meson setup $(BUILD) >$(BUILD).setup.log 2>&1 || { cat $(BUILD).setup.log; exit 1; }

# The seed's authors/books program, then the same on a libuv loop with a file, then the seed's
# own Python program on the Python package, then the quick benchmark in words. Builds only
# what it runs, its output in BUILD/demo-build.log (shown only if the build fails).
DEMO_TARGETS = examples/books examples/async_books bench/bench python-package
demo: deps $(BUILD)/build.ninja
	@echo "relstore: building the demo (log in $(BUILD)/demo-build.log)"
	@meson compile -C $(BUILD) $(DEMO_TARGETS) >$(BUILD)/demo-build.log 2>&1 || \
		{ cat $(BUILD)/demo-build.log; exit 1; }
	@echo; echo "== the seed's program: an author and his books, in memory (examples/books.c)"
	@./$(BUILD)/examples/books
	@rm -f $(BUILD)/async_books.db $(BUILD)/async_books.db-lock
	@echo; echo "== the same on a libuv loop, kept in a file (examples/async_books.c)"
	@./$(BUILD)/examples/async_books $(BUILD)/async_books.db
	@echo; echo "== the seed's Python program on relstore, its import line changed (examples/seed.py)"
	@PYTHONPATH=$(BUILD)/python python3 examples/seed.py
	@echo; echo "== the quick benchmark (make bench-quick for its tables, make bench for all sizes)"
	@./$(BUILD)/bench/bench --scales 10000 --repeats 3 --summary

# The quick benchmark: 10,000 authors, every system, then the queries, the transactions, the
# many-to-many relations and the ordered indexes against SQLite, printed.
bench-quick: deps $(BUILD)/build.ninja
	meson compile -C $(BUILD)
	./$(BUILD)/bench/bench --scales 10000 --repeats 3
	./$(BUILD)/bench/query_bench --scales 10000 --repeats 3 --budget 40
	./$(BUILD)/bench/txn_bench --repeats 3
	./$(BUILD)/bench/m2m_bench --books 20000 --repeats 3
	./$(BUILD)/bench/ordered_bench --objects 100000 --repeats 3
	PYTHONPATH=$(BUILD)/python python3 python/bench.py --authors 10000 --repeats 3

# The full benchmark: 10,000, 100,000 and 1,000,000 authors, with realistic strings and again
# with short ones; tables, CSV and plot into bench/results/, and the tables into the README. Then the queries against SQLite at 10,000
# and 100,000 authors: bench/results/QUERIES.md and queries.csv, and the README's query tables.
# Then the transactions against SQLite: bench/results/TXN.md and the README's table; and the
# many-to-many relations against SQLite at 100,000 books: bench/results/M2M.md and the README's
# table; then the ordered indexes against SQLite at 1M and 10M books: bench/results/ORDERED.md
# and the README's table, and the tree alone beside libjudy: bench/results/OTREE.md. Last, the
# Python package against Python's sqlite3: bench/results/PYTHON.md and the README's table.
bench: $(BUILD)/build.ninja
	./tools/deps.sh bench
	meson compile -C $(BUILD)
	./$(BUILD)/bench/bench --out bench/results --strings realistic,short
	gnuplot -e "datafile='bench/results/walk.dat'; outfile='bench/results/reverse_walk.png'" \
		bench/walk.gp
	./tools/bench-readme.sh bench/results/RESULTS.md README.md
	./$(BUILD)/bench/query_bench --scales 10000,100000 --out bench/results
	./tools/bench-readme.sh bench/results/QUERIES.md README.md query
	./$(BUILD)/bench/txn_bench --repeats 5 > bench/results/TXN.md
	./tools/bench-readme.sh bench/results/TXN.md README.md txn
	./$(BUILD)/bench/m2m_bench --repeats 5 > bench/results/M2M.md
	./tools/bench-readme.sh bench/results/M2M.md README.md m2m
	./$(BUILD)/bench/ordered_bench --objects 1000000,10000000 --repeats 5 > bench/results/ORDERED.md
	./tools/bench-readme.sh bench/results/ORDERED.md README.md ordered
	[ ! -x $(BUILD)/bench/otree_bench ] || { ./$(BUILD)/bench/otree_bench > bench/results/OTREE.md && \
		./tools/bench-readme.sh bench/results/OTREE.md README.md otree; }
	PYTHONPATH=$(BUILD)/python python3 python/bench.py --authors 10000 --repeats 7 \
		> bench/results/PYTHON.md
	./tools/bench-readme.sh bench/results/PYTHON.md README.md python

# Every test, in a plain build and again under AddressSanitizer + UndefinedBehaviorSanitizer;
# the threaded and async tests also under ThreadSanitizer.
test: deps
	./tools/test.sh

# The long runs: the crash test at 10,000 points, the damage test with 10,000 flips, the fault
# campaign at 3 times the size, the SQL export loaded into a PostgreSQL server (installed
# here if missing); then each harness against a build with its bug planted; then the Python
# package's tests with its extension and the library under ASan+UBSan.
test-long: $(BUILD)/build.ninja
	./tools/deps.sh pg
	meson compile -C $(BUILD)
	meson test -C $(BUILD) --suite long --print-errorlogs
	./tools/long-summary.sh $(BUILD)
	./tools/planted.sh
	./tools/python-asan.sh

# R8: each libFuzzer target for FUZZ_SECONDS (300 by default), in an ASan+UBSan clang build;
# the corpus grows in tests/fuzz/corpus/ and make test replays it.
FUZZ_SECONDS ?= 300
fuzz:
	./tools/deps.sh fuzz
	[ -f build-fuzz/build.ninja ] || CC=clang meson setup build-fuzz -Dfuzz=true \
		-Db_sanitize=address,undefined -Db_lundef=false
	meson compile -C build-fuzz tests/fuzz_record tests/fuzz_catalog tests/fuzz_load tests/fuzz_api
	./tools/fuzz.sh build-fuzz $(FUZZ_SECONDS)

clean:
	rm -rf build build-asan build-tsan build-fuzz build-plant-* build-pyasan
