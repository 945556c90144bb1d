"""The hand-off a team asks for, in ``routing.yaml`` (``teams.<key>.handoff``), and its checks.

Every action is off unless configured::

    teams:
      backend:
        name: Backend
        channel: "#eng-backend"
        handoff:
          zendesk:                 # one ticket update (PUT /api/v2/tickets/{id}.json)
            group_id: 360001234567 # the team's helpdesk group
            assignee_id: null      # or a person
            priority: high         # low | normal | high | urgent
            tags: [escalated_backend]
            packet_note: true      # the internal note carries the Markdown escalation packet
          slack: {}                # one message to the team's channel (or slack: {channel: "#other"})

They run only on an investigation that escalates to the team and delivers a note
to its ticket (a webhook investigation); they write to the helpdesk and to Slack,
never to an investigated system. ``casefile routing check`` reports, with file
and line, a Slack hand-off whose channel has no webhook and no bot token.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from casefile.agent.runbooks import Problem

if TYPE_CHECKING:
    from casefile.agent.handoff.slack import SlackSettings

__all__ = ["SlackHandoff", "TeamHandoff", "ZendeskHandoff", "check_handoff", "slack_channel"]

_TAG = r"^[a-z0-9_\-/:.]+$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ZendeskHandoff(_Strict):
    group_id: int | None = Field(default=None, ge=1, description="the helpdesk group to assign")
    assignee_id: int | None = Field(default=None, ge=1, description="an agent to assign")
    priority: Literal["low", "normal", "high", "urgent"] | None = None
    tags: list[str] = Field(default_factory=list, description="tags to add (Zendesk: lowercase, no spaces)")
    packet_note: bool = Field(default=False, description="put the Markdown escalation packet in the note")

    def changes_ticket(self) -> bool:
        return bool(self.group_id or self.assignee_id or self.priority or self.tags)


class SlackHandoff(_Strict):
    channel: str | None = Field(default=None, description="default: the team's channel")


class TeamHandoff(_Strict):
    zendesk: ZendeskHandoff | None = None
    slack: SlackHandoff | None = None


# ZendeskHandoff.tags items must match _TAG; pydantic's pattern on list items needs Annotated, which
# reads worse in a config model than this one check.
def _bad_tags(handoff: ZendeskHandoff) -> list[tuple[int, str]]:
    import re

    return [(i, t) for i, t in enumerate(handoff.tags) if not re.match(_TAG, t)]


def slack_channel(team_channel: str, handoff: TeamHandoff | None) -> str | None:
    """Where the team's hand-off message goes; None when it has no Slack hand-off."""
    if handoff is None or handoff.slack is None:
        return None
    return handoff.slack.channel or team_channel


def check_handoff(teams: Mapping[str, Any], text: str, name: str, slack: SlackSettings) -> list[Problem]:
    """What the schema cannot see: tags Zendesk would refuse, Slack channels with no way to post."""
    from casefile.agent.runbooks.check import line_of as _line_of

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        node = None
    problems: list[Problem] = []
    for key, team in teams.items():
        handoff = getattr(team, "handoff", None)
        if not isinstance(handoff, TeamHandoff):
            continue
        base = ["teams", key, "handoff"]
        if handoff.zendesk is not None:
            for i, tag in _bad_tags(handoff.zendesk):
                problems.append(
                    Problem(
                        name,
                        _line_of(node, [*base, "zendesk", "tags", i], 1),
                        f"tag {tag!r}: Zendesk tags are lowercase letters, digits and _-/:. (no spaces)",
                    )
                )
        channel = slack_channel(str(getattr(team, "channel", "")), handoff)
        if channel is not None and not slack.can_post(channel):
            problems.append(
                Problem(
                    name,
                    _line_of(node, [*base, "slack"], 1),
                    f"team {key}: Slack channel {channel} has no incoming webhook ([slack] webhooks, "
                    "CASEFILE_SLACK_WEBHOOKS) and no bot token (SLACK_BOT_TOKEN)",
                )
            )
    return problems
