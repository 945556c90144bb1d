"""Runbooks: Markdown files support engineers maintain, with no Python.

A runbook is ``prompts/runbooks/<name>.md``: YAML front matter between ``---``
lines, then a Markdown body that goes into the model's prompt as guidance.

Front matter::

    id: api-429                      # unique
    title: API requests rejected with 429
    team: backend                    # who gets it when escalated
    triggers:                        # any one that hits matches the runbook
      keywords: ["429", "rate limit"]
      regex: ['\\btoo many requests\\b']
      statuses: [429]
      error_codes: [rate_limit_exceeded]
      areas: [api]
    plan:                            # tool calls to run before the model's first turn
      - id: errors                   # results are reachable under this name
        tool: logs_error_summary
        args: {account_id: "{{ account.id }}", start: "{{ window.start }}", end: "{{ window.end }}"}
      - id: compare
        tool: deploys_compare
        needs: [deploys]             # runs after these steps, may use their results
        when: "deploys.deployments"  # optional condition (sandboxed Jinja2 expression)
        args: {repo: "...", base: "...", head: "..."}
    findings:                        # conditions over results → a root cause
      - id: known-bug
        when: "errors.spike and bugs.issues"
        priority: 50                 # higher wins when several hold
        category: known_bug
        statement: "..."             # templates may use every step's result
        confidence: 0.85
        action: resolve              # or escalate
        evidence:
          - {step: errors, value: "{{ errors.spike.start }}", claim: "429s began at {{ errors.spike.start }}"}
        reply: "..."
        note: "..."

A step whose rendered arguments leave a required value empty (e.g. no account
was resolved) is skipped and reported, rather than sent with a blank.

Modules: ``model`` (the front matter), ``check`` (loading and checking files), ``findings``
(matching a ticket, evaluating findings).
"""

from __future__ import annotations

from casefile.agent.runbooks import check, findings, model
from casefile.agent.runbooks.check import *  # noqa: F403  (the package's surface: see __all__)
from casefile.agent.runbooks.findings import *  # noqa: F403
from casefile.agent.runbooks.model import *  # noqa: F403

__all__ = [*model.__all__, *check.__all__, *findings.__all__]
