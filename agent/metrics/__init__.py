"""The team's numbers: escalation rate, investigation time, time to escalation, bounce rate,
first-contact resolution and resolved-without-engineering, over any window, per team, per
category and per week.

``model`` the report (Pydantic) · ``history`` what is read from the store · ``outcomes`` what
is read back from the helpdesk · ``compute`` the one function that computes it all · ``cli``
``casefile report metrics``. Nothing heavy is imported here: ``casefile --help`` stays fast.
"""
