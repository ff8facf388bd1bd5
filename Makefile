# schedbench: every target sets itself up on a fresh machine with only python3 and make.
PYTHON  ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
PY      := $(BIN)/python
STAMP   := $(VENV)/.installed-stamp
RESULTS := results
REPORT  := $(RESULTS)/report
HISTORY := $(RESULTS)/history

.PHONY: help setup test test-fast lint bench bench-quick bench-check bench-gate bench-instructions bench-syscalls bench-echo bench-scale baseline report microbench clean

help:
	@echo "make bench        full suite under pyperf, io included (~7 min) -> $(RESULTS)/latest.json + $(REPORT)/index.html"
	@echo "make bench-quick  the same pipeline in under a minute (CI smoke run) -> $(RESULTS)/quick.json"
	@echo "make test         set up and run the test suite (what CI runs)"
	@echo "make test-fast    the tests without the end-to-end pipeline runs (a quick loop)"
	@echo "make report       rebuild the report from $(RESULTS)/latest.json and $(HISTORY)"
	@echo "make bench-instructions  instruction counts of every scheduler under Valgrind -> $(RESULTS)/instructions.json"
	@echo "make bench-syscalls  system calls per resume of every scheduler under strace -> $(RESULTS)/syscalls.json"
	@echo "make bench-echo   each loop's echo server under open-loop load: latency against load, knees -> $(RESULTS)/echo.json"
	@echo "make baseline     store instruction counts as $(RESULTS)/baseline-instructions.json"
	@echo "make bench-check  count again and compare with the baseline; exits 1 on a regression (1 %)"
	@echo "make bench-gate BASE=<ref>  paired A/B wall-time and timer gate of this checkout against BASE"
	@echo "                  (default: the merge-base with main) -> $(RESULTS)/gate.json; exits 1 on a regression"
	@echo "make bench-scale  scaling sweep N = 100 .. 1,000,000 -> $(RESULTS)/scaling.json, report in $(RESULTS)/scaling-report"
	@echo "make microbench   pytest-benchmark micro-suite of scheduler primitives"

setup: $(STAMP)

# Re-install whenever the project's dependencies change.
$(STAMP): pyproject.toml constraints/loops.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,loops]' -c constraints/loops.txt
	touch $(STAMP)

test: $(STAMP) lint
	$(PY) -m pytest -q

# The quick loop: everything but the end-to-end runs that spawn pyperf workers.
test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check bench schedulers reports tests microbench scripts
	$(BIN)/mypy

# The suite exits 1 when a run failed; the report is still built, then the status kept.
bench: $(STAMP)
	@status=0; \
	$(PY) -m bench run --output $(RESULTS)/latest.json --history $(HISTORY) || status=$$?; \
	if [ $$status -le 1 ]; then $(MAKE) --no-print-directory report || status=$$?; fi; \
	exit $$status

bench-quick: $(STAMP)
	@status=0; \
	$(PY) -m bench run --fast --output $(RESULTS)/quick.json || status=$$?; \
	if [ $$status -le 1 ]; then $(PY) -m reports $(RESULTS)/quick.json -o $(RESULTS)/quick-report || status=$$?; fi; \
	exit $$status

# The optional inputs, as one word list, so the recipe below is one line (make echoes it as is).
REPORT_INPUTS = $(if $(wildcard $(HISTORY)),--history $(HISTORY)) \
	$(if $(wildcard $(RESULTS)/instructions.json),--instructions $(RESULTS)/instructions.json) \
	$(if $(wildcard $(RESULTS)/syscalls.json),--syscalls $(RESULTS)/syscalls.json) \
	$(if $(wildcard $(RESULTS)/echo.json),--echo $(RESULTS)/echo.json)

report: $(STAMP)
	$(PY) -m reports $(RESULTS)/latest.json -o $(REPORT) $(strip $(REPORT_INPUTS))

# Exit 1 from the suite (a scheduler failed) still leaves a usable file: keep going.
# The regression gate counts instructions (Valgrind): exact, so a 1 % change is caught with
# no false alarm on a noisy machine (docs/regressions.md). Wall time and timers are gated by
# pairs instead: make bench-gate.
baseline: $(STAMP)
	$(PY) -m bench run --measure instructions --replace --output $(RESULTS)/baseline-instructions.json || [ $$? -eq 1 ]

bench-check: $(STAMP)
	@test -f $(RESULTS)/baseline-instructions.json || { echo "no $(RESULTS)/baseline-instructions.json: run 'make baseline' first" >&2; exit 2; }
	@status=0; $(PY) -m bench run --measure instructions --replace --output $(RESULTS)/instructions-check.json || status=$$?; \
	if [ $$status -gt 1 ]; then exit $$status; fi; \
	$(PY) -m bench compare $(RESULTS)/baseline-instructions.json $(RESULTS)/instructions-check.json

bench-instructions: $(STAMP)
	$(PY) -m bench run --measure instructions --output $(RESULTS)/instructions.json

# Syscalls per resume by name, counted under strace (every mode, real clock); without strace
# it says SKIPPED in one line and exits 0. Compare two such files with `python -m bench compare`.
bench-syscalls: $(STAMP)
	$(PY) -m bench run --measure syscalls --output $(RESULTS)/syscalls.json

# Each loop's TCP echo server against a C load generator on the other core (≈ 10 min).
bench-echo: $(STAMP)
	$(PY) -m bench echo --output $(RESULTS)/echo.json

# The paired wall-time and timer gate (docs/regressions.md): BASE against this checkout,
# interleaved pair by pair on this machine. BASE is a ref or a directory; empty: merge-base
# with main. The forest plot goes to $(RESULTS)/gate-report.
BASE ?=
bench-gate: $(STAMP)
	@status=0; \
	$(PY) -m bench gate $(if $(BASE),$(BASE) .) --output $(RESULTS)/gate.json || status=$$?; \
	if [ $$status -le 1 ]; then $(PY) -m reports $(RESULTS)/gate.json -o $(RESULTS)/gate-report || status=$$?; fi; \
	exit $$status

# Its own file: a sweep's workload (up to 1,000,000 rockets) is not latest.json's, which
# the writer would refuse to mix with it.
bench-scale: $(STAMP)
	@status=0; \
	$(PY) -m bench scale --output $(RESULTS)/scaling.json || status=$$?; \
	if [ $$status -le 1 ]; then $(PY) -m reports $(RESULTS)/scaling.json -o $(RESULTS)/scaling-report || status=$$?; fi; \
	exit $$status

microbench: $(STAMP)
	$(PY) -m pytest microbench --benchmark-only --benchmark-autosave --benchmark-storage=file://$(RESULTS)/microbench

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
