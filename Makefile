# Quick start:
#   make demo   set up .venv if needed, then run the demo on built-in data
#   make test   set up .venv if needed, then run the test suite
PYTHON_VENV := .venv/bin/python

.PHONY: env test test-lab lint format demo clean-env

env:
	@bash tools/setup_env.sh

# the package's tests, then the research project's library tests
# (projects/search_eval); `make test-lab` also runs the lab's tools end to
# end (several minutes more on 2 cores)
LAB_TESTS = projects/search_eval/tests
test: env lint
	$(PYTHON_VENV) -m pytest -n 2 --durations=15 tests
	$(PYTHON_VENV) -m pytest $(LAB_TESTS)/test_references.py $(LAB_TESTS)/test_signals.py $(LAB_TESTS)/test_spread.py $(LAB_TESTS)/test_network_compare.py

test-lab: env
	$(PYTHON_VENV) -m pytest -n 2 --durations=5 $(LAB_TESTS)

# ruff: pyflakes, pycodestyle, import order (ruff.toml); yapf: formatting
# (setup.cfg). `make format` applies both.
PY_FILES = $$(git ls-files '*.py' 2>/dev/null || find autopose_mm configs tests tools -name '*.py')
lint: env
	.venv/bin/ruff check .
	.venv/bin/yapf --diff $(PY_FILES) > /dev/null || { .venv/bin/yapf --diff $(PY_FILES); echo 'formatting differs: run make format'; exit 1; }

format: env
	.venv/bin/yapf -i $(PY_FILES)
	.venv/bin/ruff check --fix .

demo: env
	$(PYTHON_VENV) tools/demo.py

clean-env:
	rm -rf .venv
