"""Golden tickets and the eval harness: score any model on recorded tickets, offline.

``evals.cases`` loads the golden set, ``evals.scoring`` scores one diagnosis against
its expectations, ``evals.runner`` runs cases × repeats concurrently,
``evals.report`` renders the results (terminal, Markdown, JSON, JUnit, baseline
comparison), ``evals.validate`` checks the cases themselves and ``evals.record``
builds a new case from a resolved ticket. ``evals.cli`` wires them into
``casefile eval``.
"""
