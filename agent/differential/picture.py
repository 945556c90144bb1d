"""Scope, onset and shape of the account's errors: the first questions a senior engineer asks.

* **what** the account gets: its dominant error class (by status, code and message),
  the rows of that class, the key and endpoint they come from;
* **against a baseline**: is that status elevated compared with the days before?
* **when**: the first bad minute (the spike's first error, else the class's first
  row), and whether it is still going on or ended before the ticket;
* **who else**: does any other account get the same status and code as much?
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from casefile.agent.differential.background import Background, background
from casefile.agent.differential.codes import explained
from casefile.agent.differential.evidence import Cited, Evidence
from casefile.agent.differential.queries import names_operation
from casefile.agent.differential.semantics import CUSTOMER_SIDE, OUR_SIDE, classify
from casefile.agent.differential.topic import success_statuses
from casefile.agent.signals.text import code_key
from casefile.tools.base import parse_ts
from casefile.tools.logs_results import ErrorSummary, KeyUsage, SharedError, TopError, TopErrors

__all__ = ["ErrorPicture", "error_picture", "recent", "reported_rows", "reported_statuses"]

# An incident whose last error is this long before the ticket has ended.
ENDED_AFTER = timedelta(minutes=60)
MIN_ELEVATED = 10
# How many buckets the logs' spike detection waits for before it confirms a jump.
CONFIRM_BUCKETS = 6
# A reported error this common among the account's requests counts even when it is not new.
REPORTED_STEADY_RATE = 0.01


@dataclass
class ErrorPicture:
    total: int = 0
    requests: int = 0
    cls: str | None = None
    rows: list[TopError] = field(default_factory=list)
    """The top rows of the dominant class, most frequent first."""
    count: int = 0
    share: float = 0.0
    elevated: bool = False
    rate: float = 0.0
    baseline_rate: float = 0.0
    onset: str | None = None
    last_at: str | None = None
    ended: bool = False
    path: str | None = None
    scope: str = "none"
    shared: SharedError | None = None
    failing_key: KeyUsage | None = None
    """The one API key that fails while the account's other keys succeed."""
    goes_on: bool = False
    """This account's errors stopped, but the other accounts still get them: the incident goes on."""
    elsewhere: Background = field(default_factory=lambda: Background("unknown"))
    """The class's codes at other accounts, now and before: usual noise, a platform change, or its own."""

    @property
    def top(self) -> TopError | None:
        return self.rows[0] if self.rows else None


# Reason phrases customers write instead of the status (in the ticket's reading in English).
_PHRASES: tuple[tuple[re.Pattern[str], int], ...] = tuple(
    (re.compile(p, re.IGNORECASE), s)
    for p, s in (
        (r"service unavailable|temporarily unavailable", 503),
        (r"bad gateway", 502),
        (r"gateway time-?out", 504),
        (r"internal (?:server )?error|server error", 500),
        (r"too many requests|rate[- ]?limit", 429),
        (r"unauthori[sz]ed|invalid (?:api )?key|authentication failed", 401),
        (r"forbidden|access denied|not allowed", 403),
        (r"payment required", 402),
        (r"\bgone\b|no longer (?:exists|available|supported)|deprecated", 410),
        (r"unprocessable|validation (?:error|failed)", 422),
    )
)


def reported_statuses(text: str, statuses: Iterable[int] = ()) -> set[int]:
    """The statuses a ticket reports: the numbers intake found plus the reason phrases it uses, and a
    success status it says the API answered."""
    found = set(statuses)
    found.update(status for pattern, status in _PHRASES if pattern.search(text))
    found.update(success_statuses(text))
    return found


def _success(status: int) -> bool:
    return 200 <= status < 300


def _incident_like(top: TopErrors, row: TopError) -> bool:
    """A server error this account never got before (no row of its status and code in the baseline)
    that other accounts got in the same window."""
    if row.status < 500:
        return False
    pair = [r for r in top.top if r.status == row.status and r.error_code == row.error_code]
    shared = top.shared(row.status, row.error_code)
    return all(r.before == 0 for r in pair) and shared is not None and shared.accounts >= 2


def _new_everywhere(top: TopErrors, row: TopError) -> bool:
    """A server error nobody got in the week before (neither this account nor the others) that other
    accounts got in the same window: an incident of ours, whatever each account's rate (a short outage
    weighs more in a busy night's traffic than in a quiet one's)."""
    shared = top.shared(row.status, row.error_code)
    return _incident_like(top, row) and shared is not None and shared.before == 0


def _widespread(top: TopErrors, shared: SharedError | None, count: int) -> bool:
    """Other accounts get the same status and code about as much as this one does.

    As rates when their requests are known: a handful of other accounts' usual 422s adds up
    to a big number without being what this account gets (a fifth of its rate counts as
    "as much"; traffic shapes differ). Without their volume, half this account's count.
    """
    if shared is None or shared.accounts < 2:
        return False
    if top.others_requests and top.requests and count:
        return shared.count / top.others_requests >= 0.2 * count / top.requests
    return shared.count >= 0.5 * count


def _enough(top: TopErrors, reported: list[TopError], codes: Collection[str] = ()) -> int:
    """How many of the errors a customer reports make a finding: three, or two of a kind the
    account never got in the week before (a small account's few calls that all fail), or one
    when the customer quotes its very code (they saw that answer; the logs confirm it)."""
    if reported and all(r.error_code and code_key(r.error_code) in codes for r in reported):
        return 1
    new = bool(reported) and bool(top.baseline_requests) and all(r.before == 0 for r in reported)
    return 2 if new else 3


def reported_rows(
    rows: list[TopError], statuses: set[int], codes: set[str], said: str = ""
) -> list[TopError]:
    """The rows of the statuses the ticket reports, of the codes it quotes (``codes``: keys), or of
    the operation it describes in ``said`` ("adding the location" → ``/op/AddLocation``)."""
    # A 2xx the ticket names stands for every success status: the failure is the code inside it.
    success = any(_success(s) for s in statuses)
    return [
        r
        for r in rows
        if r.status in statuses
        or (success and _success(r.status))
        or (r.error_code and code_key(r.error_code) in codes)
        or (said and names_operation(said, r.path))
    ]


def _noise(expected: float) -> float:
    """How many more errors than ``expected`` chance alone gives (about three Poisson deviations, plus one)."""
    return 3 * math.sqrt(expected) + 1


def _span(rows: list[TopError]) -> float:
    """Seconds from the first to the last of ``rows``' errors."""
    firsts = [t for t in (parse_ts(r.first_at) for r in rows) if t is not None]
    lasts = [t for t in (parse_ts(r.last_at) for r in rows) if t is not None]
    return (max(lasts) - min(firsts)).total_seconds() if firsts and lasts else 0.0


def _at_usual_rate(summary: ErrorSummary | None, rows: list[TopError]) -> bool:
    """The class's statuses, taken together, are no more frequent than in the baseline.

    The top rows are the combinations that grew most, so a class pieced together from them
    always looks grown; the status totals against their baseline rates say whether anything
    changed at all. Codes the account never got before are news whatever their status does.
    """
    if summary is None or not summary.baseline.requests or not summary.requests:
        return False
    new = sum(r.count for r in rows if r.before == 0)
    if new * 2 >= sum(r.count for r in rows):
        return False
    statuses = {r.status for r in rows}
    counts = [s for s in summary.by_status if s.status in statuses]
    seen = sum(s.count for s in counts)
    expected = sum(s.baseline_rate for s in counts) * summary.requests
    return seen < expected + _noise(expected) + 2


def recent(evidence: Evidence, since: datetime) -> Evidence:
    """``evidence`` with only the account's error rows still seen at or after ``since`` (and the
    summary's spike only when its status still has such rows): what the account gets now, without
    an incident that was over before then."""
    if evidence.top is None:
        return evidence
    top = evidence.top.data
    rows = [r for r in top.top if (t := parse_ts(r.last_at)) is None or t >= since]
    kept = replace(
        evidence, top=Cited(top.model_copy(update={"top": rows}), evidence.top.call_id, evidence.top.tool)
    )
    summary = evidence.summary
    if summary is not None and summary.data.spike is not None:
        status = summary.data.spike.status
        if not any(status is None or r.status == status for r in rows):
            data = summary.data.model_copy(update={"spike": None})
            kept = replace(kept, summary=Cited(data, summary.call_id, summary.tool))
    return kept


def error_picture(
    evidence: Evidence,
    created_at: datetime,
    statuses: set[int] | None = None,
    codes: set[str] | None = None,
    said: str = "",
) -> ErrorPicture:
    """The account's error picture; the errors the ticket itself reports (``statuses``, ``codes``, the
    operations its text ``said`` describes) come first.

    Every error class among the top rows is tested against its baseline; the picture is the
    elevated class that grew most, so background noise of one class does not hide a real change
    in another (a short incident of ours behind the usual trickle of 400s).
    """
    top = evidence.top.data if evidence.top else None
    summary = evidence.summary.data if evidence.summary else None
    if top is None or not top.top:
        picture = ErrorPicture()
        if summary is not None:
            picture.total, picture.requests = summary.errors, summary.requests
        return picture
    # What the customer reports, when the logs hold it, is what the picture is about: a handful of
    # 503s the ticket names matter more than the usual background of 404s.
    quoted = {code_key(c) for c in codes or ()}
    reported = reported_rows(top.top, statuses or set(), quoted, said)
    if any(_success(s) for s in statuses or ()):
        # "The API answers 200" reports the failures inside 2xx, not the noise every account gets
        # inside them too (a code it does not quote, at everyone's rate).
        only = reported_rows(top.top, {s for s in statuses or () if not _success(s)}, quoted, said)
        reported = [r for r in reported if r in only or background(top, [r]).reading != "usual"]
    # A small account gets few of an incident's errors: one it never had, that other accounts got
    # at the same time, is enough when the customer reports it.
    incident = any(_incident_like(top, r) for r in reported)
    pool = (
        reported if incident or sum(r.count for r in reported) >= _enough(top, reported, quoted) else top.top
    )
    ratio = top.requests / top.baseline_requests if top.baseline_requests else 0.0
    by_class: dict[str, list[TopError]] = {}
    for row in pool:
        # A code that says nothing by its words means what the company's help center says it means.
        told = explained(evidence, row.error_code, row.status)
        cls = told[0].cls if told else classify(row.status, row.error_code, row.message)
        by_class.setdefault(cls, []).append(row)
    # The class that grew most against the rows' own history wins, not the biggest one: a few
    # errors the account never got before matter more than its usual background of 404s. Each
    # row's growth counts only beyond what chance gives (a single stray error is not news).
    excess: dict[str, float] = {}
    span = _span(pool)
    for cls_of, rows_of in by_class.items():
        grown = 0.0
        for row in rows_of:
            expected = row.before * ratio
            more = max(0.0, row.count - expected - _noise(expected) + 1)
            # A new server error many accounts got at once is an incident, even if this one saw few.
            if _incident_like(top, row):
                more *= 3
            if not top.baseline_requests and span:
                # No history to compare with: errors spread over the whole window are the account's
                # background, a burst within it is news.
                more *= max(0.1, 1 - _span([row]) / span)
            grown += more
        excess[cls_of] = grown
    # One class may hold two episodes: an outage two days ago and another code of the same kind
    # now. Each is pictured on its own run, so one dates and ends by its own errors, not the other's.
    pictures = [
        (
            _class_picture(top, summary, created_at, cls_of, run, quoted if pool is reported else None),
            excess[cls_of] * sum(r.count for r in run) / sum(r.count for r in rows_of),
        )
        for cls_of, rows_of in by_class.items()
        for run in episodes(rows_of)
    ]
    elevated = [p for p in pictures if p[0].elevated]
    # An episode that ended inside a longer failure of the account, one that began before it and still
    # goes on, is an interlude of that failure's story, not its cause: the outage of one evening does
    # not explain uploads refused since the afternoon and still refused.
    kept = [p for p in elevated if not any(_within(p[0], o[0]) for o in elevated)]
    return max(kept or elevated or pictures, key=lambda p: (p[1], p[0].count))[0]


def _within(inner: ErrorPicture, outer: ErrorPicture) -> bool:
    """``inner`` is an incident of many accounts that ended, and ``outer`` a failure of this account's own
    that began before it and still goes on."""
    began, first = parse_ts(outer.onset), parse_ts(inner.onset)
    return (
        inner.ended
        and inner.scope == "many accounts"
        and not outer.ended
        and not outer.scope.startswith("many")
        and began is not None
        and first is not None
        and began < first
    )


# Codes of one class whose errors are this far apart are separate episodes.
EPISODE_GAP = timedelta(hours=6)


def episodes(rows: list[TopError]) -> list[list[TopError]]:
    """``rows`` in runs of time: each (status, code) spans its first to last error, and codes whose
    spans come within ``EPISODE_GAP`` of each other are one episode. A code that recurs (a nightly
    job's every night) is one span, so it stays one episode."""
    spans: dict[tuple[int, str], list[TopError]] = {}
    for r in rows:
        spans.setdefault((r.status, r.error_code), []).append(r)
    timed = []
    for pair_rows in spans.values():
        firsts = [t for t in (parse_ts(r.first_at) for r in pair_rows) if t is not None]
        lasts = [t for t in (parse_ts(r.last_at) for r in pair_rows) if t is not None]
        if not firsts or not lasts:
            return [rows]
        timed.append((min(firsts), max(lasts), pair_rows))
    runs: list[tuple[datetime, list[TopError]]] = []
    for first, last, pair_rows in sorted(timed, key=lambda t: t[0]):
        if runs and first - runs[-1][0] <= EPISODE_GAP:
            runs[-1] = (max(runs[-1][0], last), runs[-1][1] + pair_rows)
        else:
            runs.append((last, list(pair_rows)))
    order = {id(r): i for i, r in enumerate(rows)}
    return [sorted(run, key=lambda r: order[id(r)]) for _, run in runs]


def _class_picture(
    top: TopErrors,
    summary: ErrorSummary | None,
    created_at: datetime,
    cls: str,
    rows: list[TopError],
    quoted: set[str] | None,
) -> ErrorPicture:
    """The picture of one error class's rows: elevated or not, onset, end, scope, failing key.
    ``quoted``: the codes the ticket quotes when these rows are what it reports, else ``None``."""
    reported = quoted is not None
    picture = ErrorPicture()
    picture.total, picture.requests = top.errors, top.requests
    count = sum(r.count for r in rows)
    picture.cls, picture.rows, picture.count = cls, rows, count
    picture.share = count / top.errors if top.errors else 0.0
    status = rows[0].status
    picture.rate = count / top.requests if top.requests else 0.0
    if summary is not None:
        base = next((s for s in summary.by_status if s.status == status), None)
        picture.baseline_rate = base.baseline_rate if base else 0.0
        no_baseline = summary.baseline.requests == 0
    else:
        no_baseline = True
    spike = summary.spike if summary else None
    spike_here = spike is not None and (
        spike.status is None or spike.status == status or spike.path == rows[0].path
    )
    # Elevated: well above what the baseline rate predicts for this many requests (a handful more
    # than expected is noise); the errors the ticket itself reports need less to count.
    expected = picture.baseline_rate * top.requests
    before = sum(r.before for r in rows)
    if top.baseline_requests:
        # The rows' own history beats the status's: 404 noise is not 404 endpoint_retired.
        expected = before / top.baseline_requests * top.requests
    # A limit of the account's plan refuses only what goes over it: the attempts to add a third
    # location are refused, and nothing else is. A refusal the account never got before is the
    # finding once it was repeated (a single one may be anyone's stray test; quoted, it counts alone).
    new_limit = cls == "plan_limit" and count >= 2 and all(r.before == 0 for r in rows)
    if all(_incident_like(top, r) for r in rows):
        above = count >= (1 if reported else 2)
    elif new_limit:
        above = True
    elif reported:
        # The customer names these errors: that they are there at all is the finding.
        above = count >= _enough(top, rows, quoted or ())
    elif top.baseline_requests and before == 0:
        above = count >= max(3, 2 * expected + 2)
    else:
        above = count >= max(MIN_ELEVATED, 3 * expected + 3) and not _at_usual_rate(summary, rows)
    # Errors the customer reports are the finding even at a steady rate ("it has failed for days"),
    # when they are a real part of the traffic rather than the usual stray few.
    # The same codes at the same rate at every other account, as before: the product's usual noise
    # (a booking API's slot conflicts), not news about this account, unless the customer names them.
    picture.elsewhere = background(top, rows)
    if picture.elsewhere.reading == "usual" and not reported:
        above = False
    steady = reported and picture.rate >= REPORTED_STEADY_RATE
    # Inside a 2xx the status says nothing: the codes it carries are compared with their own history.
    was = (
        before / top.baseline_requests
        if _success(status) and top.baseline_requests
        else picture.baseline_rate
    )
    grew = no_baseline or steady or new_limit or picture.rate > was
    picture.elevated = spike_here or (above and grew)
    # The onset is the first error of the rows that grew: a background row of the same class (its
    # usual stray 500 on another endpoint) does not date the new trouble before the change behind it.
    ratio = top.requests / top.baseline_requests if top.baseline_requests else 0.0
    news = [r for r in rows if r.count - r.before * ratio > _noise(r.before * ratio)] if ratio else []
    firsts = [r.first_at for r in news or rows if r.first_at]
    picture.onset = spike.onset if spike_here and spike else (min(firsts) if firsts else None)
    # A code the account never got before began with its first error: a jump found in buckets is
    # confirmed only once the rate stays up (six buckets), which may be a while after it (one request
    # in three failing). Not a stray one of it the day before.
    jump = parse_ts(picture.onset)
    if spike_here and spike and jump:
        lag = timedelta(minutes=CONFIRM_BUCKETS * spike.bucket_minutes)
        earlier = [
            (t, r.first_at)
            for r in news
            if r.before == 0 and r.first_at and (t := parse_ts(r.first_at)) and jump - lag <= t < jump
        ]
        picture.onset = min(earlier)[1] if earlier else picture.onset
    lasts = [r.last_at for r in rows if r.last_at]
    picture.last_at = max(lasts) if lasts else None
    last = parse_ts(picture.last_at)
    picture.ended = last is not None and created_at - last > ENDED_AFTER
    paths = Counter(r.path for r in rows)
    path, on_path = paths.most_common(1)[0]
    picture.path = (spike.path if spike_here and spike and spike.path else None) or (path or None)
    picture.shared = top.shared(status, rows[0].error_code)
    # A client-side code the account began getting while the others' rate stayed as it was is its
    # own, however many others get a few of it too.
    own = picture.elsewhere.reading == "own" and cls in CUSTOMER_SIDE
    if (
        (_widespread(top, picture.shared, count) and not own)
        or picture.elsewhere.reading == "platform"
        or all(_new_everywhere(top, r) for r in rows)
    ):
        picture.scope = "many accounts"
        # An incident is over when nobody gets it any more, not when this account last tried: a
        # small account's last failed request an hour and a half ago is not the outage's end.
        theirs = [t for r in rows if (o := top.shared(r.status, r.error_code)) and (t := parse_ts(o.last_at))]
        if picture.ended and cls in OUR_SIDE and theirs and created_at - max(theirs) <= ENDED_AFTER:
            picture.ended, picture.goes_on = False, True
    elif picture.path and on_path >= 0.8 * count:
        picture.scope = f"this account, on {picture.path}"
    else:
        picture.scope = "this account"
    keys = [k for k in top.keys if k.api_key_hash]
    failing = [k for k in keys if k.requests and k.errors / k.requests >= 0.5]
    healthy = [k for k in keys if k.requests and k.errors / k.requests < 0.1]
    if len(failing) == 1 and healthy:
        picture.failing_key = failing[0]
    return picture
