# make run  - create .venv, install, build the store, start the web service (bot.py serve)
# make test - create .venv, install, run the tests
# make eval - score ../shared/eval/dev.jsonl (hit@1, hit@3, MRR, declines, misses)
# make bench - speed and memory at 1k/10k/100k passages, cold start, reload; PASS/FAIL per target
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEV_SET ?= ../shared/eval/dev.jsonl

.PHONY: run test eval build golden bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

build: $(STAMP)
	$(BIN)/python bot.py build

run: build
	$(BIN)/python bot.py serve

test: $(STAMP)
	$(BIN)/python -m pytest

eval: $(STAMP)
	$(BIN)/python bot.py eval $(DEV_SET)

golden: $(STAMP)
	$(BIN)/python bot.py eval tests/data/golden_questions.jsonl

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf var .pytest_cache
