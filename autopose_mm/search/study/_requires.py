"""Imported first by the study package: without the ``search`` extra, the
error names it instead of failing inside Optuna's first use."""
from ...utils.extras import require

require('optuna')
require('sqlalchemy')
