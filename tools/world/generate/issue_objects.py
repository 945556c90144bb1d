"""Linear issues (GraphQL Issue shapes) and the helpdesk's solved tickets of a world."""

from __future__ import annotations

import uuid
from typing import Any

from casefile.tools.world.generate.ids import slug
from casefile.tools.world.generate.spec import WorldSpec

__all__ = ["linear", "tickets"]

PRIORITY = {0: "No priority", 1: "Urgent", 2: "High", 3: "Medium", 4: "Low"}
STATE_TYPE = {"Backlog": "backlog", "Todo": "unstarted", "In Progress": "started", "In Review": "started",
              "Done": "completed", "Canceled": "canceled"}  # fmt: skip


def linear(spec: WorldSpec) -> dict[str, Any]:
    brand = spec.brand
    issues = []
    for issue in spec.issues:
        ident = f"{brand.linear_team_key}-{issue.n}"
        issues.append(
            {
                "id": str(
                    uuid.uuid5(uuid.NAMESPACE_URL, f"https://linear.app/{brand.linear_workspace}/{ident}")
                ),
                "identifier": ident,
                "title": issue.title,
                "description": issue.description,
                "url": f"https://linear.app/{brand.linear_workspace}/issue/{ident}/{slug(issue.title)}",
                "priority": issue.priority,
                "priorityLabel": PRIORITY[issue.priority],
                "createdAt": issue.created.replace("Z", ".000Z"),
                "updatedAt": issue.updated.replace("Z", ".000Z"),
                "dueDate": issue.due,
                "archivedAt": None,
                "state": {"name": issue.state, "type": STATE_TYPE[issue.state]},
                "labels": {"nodes": [{"name": name} for name in issue.labels]},
                "team": {"key": brand.linear_team_key, "name": brand.linear_team_name},
                "comments": {
                    "nodes": [
                        {"body": c.body, "createdAt": c.at.replace("Z", ".000Z"), "user": {"name": c.author}}
                        for c in issue.comments
                    ]
                },
            }
        )
    return {"issues": issues}


def tickets(spec: WorldSpec) -> dict[str, Any]:
    out = []
    for n, item in enumerate(spec.history, start=1):
        tid = 880 + n * 7
        out.append(
            {
                "id": f"H-{tid}",
                "subject": item.subject,
                "body": item.body,
                "resolution": item.resolution,
                "tags": item.tags,
                "created_at": item.created,
                "solved_at": item.solved,
                "article_url": f"{spec.brand.help_center}{360000 + tid}-{slug(item.subject)}"
                if n % 3 != 0
                else None,
            }
        )
    return {"tickets": out}
