"""Run the command-line interface: ``python -m accountability_nlp``."""

from .cli import app

app(prog_name="accountability-nlp")
