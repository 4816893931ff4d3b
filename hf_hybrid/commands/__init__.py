"""Command-line front-ends: argument parsing only; the work is done by the library they call.

``python -m hf_hybrid <command>`` (or the ``hf-hybrid`` console script) dispatches to them.
"""
