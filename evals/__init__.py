"""Golden tickets and the eval harness: score any model on recorded tickets, offline.

``casefile.evals.cases`` loads the golden set, ``casefile.evals.scoring`` scores one diagnosis against
its expectations, ``casefile.evals.runner`` runs cases × repeats concurrently,
``casefile.evals.report`` renders the results (terminal, Markdown, JSON, JUnit, baseline
comparison), ``casefile.evals.validate`` checks the cases themselves and ``casefile.evals.record``
builds a new case from a resolved ticket. ``casefile.evals.cli`` wires them into
``casefile eval``.
"""
