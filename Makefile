# make run  - create .venv, install, start the web service (bot.py serve; the first start builds the store)
# make test - create .venv, install, run the tests
# make eval - dev, tune, fit, train and held-out figures side by side (hit@1, hit@3, MRR, shown, declines), then the two-turn conversations
# make calibrate - fit the ranking, the reranker and the answer/suggest/decline model on dev + tune + fit
# make bench - speed and memory at 1k/10k/100k passages, cold start, reload; PASS/FAIL per target
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEV_SET ?= ../shared/eval/dev.jsonl

.PHONY: run test eval calibrate build golden bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

build: $(STAMP)
	$(BIN)/python bot.py build

run: $(STAMP)
	$(BIN)/python bot.py serve

# Two processes, a test file each at a time (a file's module fixtures build once): 19 min one
# after another on 2 cores, 10 min so. TEST_PROCESSES=0 runs them in this process.
TEST_PROCESSES ?= 2
test: $(STAMP)
	$(BIN)/python -m pytest $(if $(filter 0,$(TEST_PROCESSES)),,-n $(TEST_PROCESSES) --dist loadfile)

TUNE_SET ?= ../shared/eval/tune.jsonl
EVAL_SETS = $(wildcard $(DEV_SET) $(TUNE_SET)) eval/fit.jsonl eval/train.jsonl eval/heldout.jsonl
CONVERSATION_SETS = eval/conversations_fit.jsonl eval/conversations_train.jsonl eval/conversations_heldout.jsonl

# dev, tune, fit and held-out side by side; misses are listed for the sets we tune on, never
# for the held-out half.
eval: $(STAMP)
	$(BIN)/python bot.py eval $(EVAL_SETS) $(foreach f,$(filter-out eval/heldout.jsonl,$(EVAL_SETS)),--misses $(f))
	@echo
	@echo "two-turn conversations, scored on the second turn:"
	$(BIN)/python bot.py eval $(CONVERSATION_SETS) --misses eval/conversations_fit.jsonl

# Fit [ranking], [rerank] and [decision] of faq/calibration.toml on the fit half (+ dev, tune)
calibrate: $(STAMP)
	$(BIN)/python bot.py calibrate $(wildcard $(DEV_SET) $(TUNE_SET)) eval/fit.jsonl

golden: $(STAMP)
	$(BIN)/python bot.py eval tests/data/golden_questions.jsonl

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf var .pytest_cache
