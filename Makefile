# Quick start:
#   make demo   set up .venv if needed, then run the demo on built-in data
#   make test   set up .venv if needed, then run the test suite
PYTHON_VENV := .venv/bin/python

.PHONY: env test demo clean-env

env:
	@bash tools/setup_env.sh

test: env
	$(PYTHON_VENV) -m pytest -n 2 --durations=15 tests

demo: env
	$(PYTHON_VENV) tools/demo.py

clean-env:
	rm -rf .venv
