"""The one mechanism every connector shares.

A connector is a class with a ``source`` name ("logs", "billing", ...) whose
methods are marked with :func:`operation`. Each marked method becomes a
:class:`Tool`: a name, a description written for a model, a Pydantic argument
model (whose JSON Schema is what a model sees), an async call, and a rendering
of its result for the model within a size budget. The full result is kept as
``data`` for evidence and the audit log; the model only sees ``rendered``.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, Field, ValidationError, field_validator

from casefile.agent.redact import redact
from casefile.tools import deadline as deadlines
from casefile.tools import tracing
from casefile.tools.args import ToolArgs, WindowedArgs
from casefile.tools.call_context import CallContext
from casefile.tools.connector_types import LinkContext, SourceLink, StandIns
from casefile.tools.errors import (
    DeadlinePassed,
    ScopeViolation,
    SourceUnavailable,
    ToolArgumentError,
    ToolError,
)
from casefile.tools.scoping import scoped_arguments
from casefile.tools.values import (
    RENDER_BUDGET_CHARS,
    AccountId,
    GarbledResult,
    OptionalAccountId,
    account_fields,
    iso,
    parse_ts,
    read_view,
    same_account,
    to_jsonable,
    truncate,
)

if TYPE_CHECKING:
    from casefile.tools.settings import ConnectorSettings

__all__ = [
    "RENDER_BUDGET_CHARS",
    "AccountId",
    "CallContext",
    "CallOrigin",
    "Connector",
    "EvidenceView",
    "GarbledResult",
    "LinkContext",
    "OptionalAccountId",
    "SourceLink",
    "StandIns",
    "Tool",
    "ToolArgs",
    "ToolCall",
    "ToolOutcome",
    "Toolbox",
    "WindowedArgs",
    "account_fields",
    "iso",
    "operation",
    "parse_ts",
    "same_account",
    "to_jsonable",
    "truncate",
]

# A call made outside any investigation (no deadline bound): Budgets.tool_timeout_s's default.
UNBOUND_CALL_TIMEOUT_S = 30.0


ArgsT = TypeVar("ArgsT", bound=ToolArgs)
V = TypeVar("V", bound=BaseModel)


CallOrigin = Literal["preflight", "model", "routing"]
"""Which phase of an investigation asked for a call (the audit log records it)."""


class ToolCall(BaseModel):
    """A request to run one tool, from a runbook's plan, the differential, a model or routing."""

    id: str
    tool: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    origin: CallOrigin = "model"


class ToolOutcome(BaseModel):
    """What one tool call returned: the record evidence cites and the audit log keeps."""

    call_id: str
    tool: str
    source: str
    arguments: dict[str, Any]
    origin: CallOrigin = "model"
    ok: bool
    # ``object``, not ``Any``: mypy refuses a key read of a raw result; code reads it through view().
    data: object = None
    rendered: str = ""
    error_kind: str | None = None
    error: str | None = None
    started_at: datetime
    duration_ms: float

    @field_validator("error")
    @classmethod
    def _without_secrets(cls, error: str | None) -> str | None:
        # A provider may echo the credential it refused ("invalid key sk_live_…" in a 401 body):
        # the error reaches the model, the events, the audit log and unavailable_sources.
        return None if error is None else redact(error)[0]

    def view(self, model: type[V]) -> V:
        """The result read through its connector's typed view (``tools/*_results.py``): how code
        outside the connector reads a result. Raises :class:`GarbledResult` when it does not fit."""
        return read_view(self.data, model, f"{self.source} garbled: {self.tool} ({self.call_id})")

    def text_for_model(self) -> str:
        if self.ok:
            return self.rendered
        if self.error_kind == ScopeViolation.kind:
            return f"{self.tool} {self.error}"
        return f"{self.source} unavailable: {self.error}"


def _default_render(data: Any) -> str:
    return json.dumps(data, indent=1, default=str)


OperationFunc = Callable[[Any, Any, CallContext], Awaitable[Any]]


# What of a result may ground evidence: the data minus what the call's author wrote into it.
EvidenceView = Callable[[Any], Any]


@dataclass(frozen=True)
class _OperationSpec:
    name: str
    args_model: type[ToolArgs]
    render: Callable[[Any], str] | None
    evidence: EvidenceView | None = None


def operation(
    name: str,
    args: type[ArgsT],
    *,
    render: Callable[[Any], str] | None = None,
    evidence: EvidenceView | None = None,
) -> Callable[[Callable[[Any, ArgsT, CallContext], Awaitable[Any]]], Callable[..., Awaitable[Any]]]:
    """Mark a connector method as a tool. Its docstring is the description a model reads.

    ``evidence`` maps a result to the part that may ground a diagnosis's evidence, when
    the result carries values the caller wrote (e.g. the literals of a model's SQL);
    by default the whole result may (see ``casefile.agent.grounding``).
    """

    def mark(func: Callable[[Any, ArgsT, CallContext], Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        if not inspect.iscoroutinefunction(func):
            raise TypeError(f"operation {name} must be async")
        func.__casefile_operation__ = _OperationSpec(name, args, render, evidence)  # type: ignore[attr-defined]
        return func

    return mark


class Tool:
    """One operation of one connector, bound and ready to call."""

    def __init__(
        self,
        *,
        name: str,
        source: str,
        description: str,
        args_model: type[ToolArgs],
        func: Callable[[Any, CallContext], Awaitable[Any]],
        render: Callable[[Any], str] | None = None,
    ) -> None:
        self.name = name
        self.source = source
        self.description = description
        self.args_model = args_model
        self.account_fields = account_fields(args_model)
        self._func = func
        self._render = render or _default_render

    def parameters_schema(self) -> dict[str, Any]:
        """The JSON Schema of the arguments, as models expect it in a tool definition."""
        return self.args_model.model_json_schema()

    def parse_arguments(self, arguments: Mapping[str, Any]) -> ToolArgs:
        try:
            return self.args_model.model_validate(dict(arguments))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'arguments'}: {err['msg']}" for err in exc.errors()
            )
            raise ToolArgumentError(self.source, f"bad arguments for {self.name}: {problems}") from None

    async def call(self, arguments: Mapping[str, Any], ctx: CallContext) -> Any:
        parsed = self.parse_arguments(arguments)
        return to_jsonable(await self._func(parsed, ctx))

    def render(self, data: Any) -> str:
        return truncate(self._render(data))


class Connector:
    """Base class of a connector: collects its ``@operation`` methods as tools.

    Each connector says how it is built from the settings (:meth:`build`) and
    what is missing to reach the live system (:meth:`not_configured`), so the
    registry needs no knowledge of any of them.
    """

    source: ClassVar[str]

    # The section's fields any one of which reaches the live system, and what :meth:`not_configured`
    # says when none is set: ``{wanted}`` their variables, ``{hint}`` the configure_hint.
    configured_by: ClassVar[tuple[str, ...]] = ()
    configure_hint: ClassVar[str] = ""
    not_configured_message: ClassVar[str] = "not configured (set {wanted}{hint})"

    @classmethod
    def not_configured(cls, settings: ConnectorSettings) -> str | None:
        """Why the live system cannot be reached with these settings; None when it can (the default
        reads :attr:`configured_by` and names the variables of :attr:`env_vars` that set them)."""
        if not cls.configured_by:
            return None
        model, key = cls.settings_model, cls.settings_key or ""
        section = settings.section(key, model) if model is not None else getattr(settings, key, None)
        if any(getattr(section, name, None) for name in cls.configured_by):
            return None
        wanted = " or ".join(var for var, name in cls.env_vars.items() if name in cls.configured_by)
        return cls.not_configured_message.format(wanted=wanted, hint=cls.configure_hint)

    @classmethod
    def build(cls, settings: ConnectorSettings, world: StandIns | None = None) -> Connector:
        """The connector for ``settings``, talking to ``world``'s stand-ins when one is given."""
        raise NotImplementedError(f"{cls.__name__} does not say how it is built")

    # The ``[connectors.<settings_key>]`` section of casefile.toml this connector reads, the model
    # that validates it (built-in sections are typed fields of ConnectorSettings, so only a
    # plug-in names one), and the environment variables that fill it: variable → field (a list
    # field takes comma-separated values).
    settings_key: ClassVar[str | None] = None
    settings_model: ClassVar[type[BaseModel] | None] = None
    env_vars: ClassVar[Mapping[str, str]] = {}

    @classmethod
    def live_configured(cls, settings: ConnectorSettings) -> bool:
        """Whether the user pointed this connector at a live system.

        Any connector so configured makes an investigation run against the live systems instead
        of the demo world. A connector that needs no credentials says False.
        """
        return cls.settings_key is not None and cls.not_configured(settings) is None

    def runbook_names(self) -> dict[str, Any]:
        """This company's names runbooks write into tool arguments (``logs.requests.table``), by source."""
        return {}

    @classmethod
    def source_link(cls, outcome: ToolOutcome, context: LinkContext) -> SourceLink | None:
        """Where a person sees what ``outcome`` returned in the system itself (None: nowhere)."""
        return None

    @classmethod
    def operation_specs(cls) -> dict[str, tuple[type[ToolArgs], str]]:
        """Name → (argument model, description) of every operation, without an instance."""
        specs: dict[str, tuple[type[ToolArgs], str]] = {}
        for attr in dir(cls):
            method = getattr(cls, attr)
            spec = getattr(method, "__casefile_operation__", None)
            if isinstance(spec, _OperationSpec):
                specs[spec.name] = (spec.args_model, inspect.cleandoc(method.__doc__ or spec.name))
        return specs

    @classmethod
    def evidence_views(cls) -> dict[str, EvidenceView]:
        """Name → evidence view of the operations that declare one."""
        views: dict[str, EvidenceView] = {}
        for attr in dir(cls):
            spec = getattr(getattr(cls, attr), "__casefile_operation__", None)
            if isinstance(spec, _OperationSpec) and spec.evidence is not None:
                views[spec.name] = spec.evidence
        return views

    def tools(self) -> list[Tool]:
        found: list[Tool] = []
        for attr in dir(type(self)):
            method = getattr(type(self), attr)
            spec = getattr(method, "__casefile_operation__", None)
            if not isinstance(spec, _OperationSpec):
                continue
            bound = getattr(self, attr)
            found.append(
                Tool(
                    name=spec.name,
                    source=self.source,
                    description=inspect.cleandoc(method.__doc__ or spec.name),
                    args_model=spec.args_model,
                    func=bound,
                    render=spec.render,
                )
            )
        return found

    async def aclose(self) -> None:
        """Release clients; connectors that hold one override this."""


class Toolbox:
    """All tools available to one investigation, and the one place calls are executed.

    Every call, from a runbook's preflight or from a model, goes through
    :meth:`execute`, which never raises: an error becomes a failed outcome the
    model and the diagnosis can see. ``on_event`` receives one event per call
    start and finish (the CLI's progress, the service's stream, the audit log).
    """

    def __init__(self, connectors: Iterable[Connector], unavailable: Mapping[str, str] | None = None) -> None:
        self.connectors = list(connectors)
        self.tools: dict[str, Tool] = {}
        for connector in self.connectors:
            for tool in connector.tools():
                if tool.name in self.tools:
                    raise ValueError(f"two tools are named {tool.name}")
                self.tools[tool.name] = tool
        # Sources that could not even be configured: their calls fail with this reason.
        self.unavailable = dict(unavailable or {})

    def get(self, name: str) -> Tool | None:
        return self.tools.get(name)

    def catalogue(self) -> list[Tool]:
        return [self.tools[name] for name in sorted(self.tools)]

    async def execute(
        self,
        call: ToolCall,
        ctx: CallContext,
        on_event: Callable[[str, dict[str, Any]], None] | None = None,
        timeout_s: float | None = None,
    ) -> ToolOutcome:
        """Run one call (see :meth:`_execute`) inside its ``execute_tool`` trace span."""
        with tracing.tool_span(call) as span:
            outcome = await self._execute(call, ctx, on_event, timeout_s)
            tracing.record_outcome(span, outcome)
        return outcome

    async def _execute(
        self,
        call: ToolCall,
        ctx: CallContext,
        on_event: Callable[[str, dict[str, Any]], None] | None,
        timeout_s: float | None,
    ) -> ToolOutcome:
        """Run one call within ``timeout_s``, or else what the investigation's deadline allows.

        The deadline (:mod:`casefile.tools.deadline`) gives each call
        ``min(Budgets.tool_timeout_s, time left)``; once it has passed, calls are
        not started and fail with ``error_kind`` "deadline".
        """
        started = datetime.now(UTC)
        deadline = deadlines.current()
        if timeout_s is None:
            timeout_s = deadline.call_timeout() if deadline else UNBOUND_CALL_TIMEOUT_S
        elif deadline is not None:
            timeout_s = deadline.call_timeout(timeout_s)
        t0 = time.perf_counter()
        tool = self.tools.get(call.tool)
        source = tool.source if tool else call.tool.split("_", 1)[0]
        if on_event:
            on_event("tool_started", {"call_id": call.id, "tool": call.tool, "arguments": call.arguments})
        data: Any = None
        rendered = ""
        error: str | None = None
        error_kind: str | None = None
        try:
            if timeout_s <= 0:
                raise DeadlinePassed(source, "not run: the investigation's deadline had passed")
            if source in self.unavailable:
                raise SourceUnavailable(source, self.unavailable[source])
            if tool is None:
                raise ToolArgumentError(source, f"no tool named {call.tool!r}")
            arguments = scoped_arguments(tool, call.arguments, ctx)
            data = await deadlines.within(tool.call(arguments, ctx), timeout_s)
            rendered = tool.render(data)
        except ToolError as exc:
            error, error_kind = exc.reason, exc.kind
        except TimeoutError:
            error, error_kind = f"no answer within {timeout_s:.1f} s", "timeout"
        except Exception as exc:  # a connector bug must not end the investigation
            error, error_kind = f"internal error: {type(exc).__name__}: {exc}", "internal"
        outcome = ToolOutcome(
            call_id=call.id,
            tool=call.tool,
            source=source,
            arguments=dict(call.arguments),
            origin=call.origin,
            ok=error is None,
            data=data,
            rendered=rendered,
            error=error,
            error_kind=error_kind,
            started_at=started,
            duration_ms=round((time.perf_counter() - t0) * 1000, 2),
        )
        if on_event:
            on_event(
                "tool_finished",
                {
                    "call_id": call.id,
                    "tool": call.tool,
                    "ok": outcome.ok,
                    "error": outcome.error,
                    "duration_ms": outcome.duration_ms,
                },
            )
        return outcome

    async def execute_many(
        self,
        calls: list[ToolCall],
        ctx: CallContext,
        on_event: Callable[[str, dict[str, Any]], None] | None = None,
    ) -> list[ToolOutcome]:
        """Run calls concurrently; outcomes come back in the order of ``calls``."""
        return list(await asyncio.gather(*(self.execute(c, ctx, on_event) for c in calls)))

    async def aclose(self) -> None:
        for connector in self.connectors:
            await connector.aclose()
