"""Generate a world directory from a scenario spec (see ``build.py`` and ``spec.py``)."""
