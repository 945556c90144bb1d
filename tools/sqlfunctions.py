"""The ClickHouse functions model SQL may call: an allow-list of aggregates (with their
combinators: ``uniqExactIf``) and scalar functions, checked on the regenerated text's tokens so
that nothing the parser rewrote into a call slips through."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from sqlglot import Token, TokenType

__all__ = ["ALLOWED_FUNCTIONS", "allowed_function", "first_disallowed_call"]

_AGGREGATES = {
    "count", "sum", "avg", "min", "max", "any", "anylast", "anyheavy", "argmin", "argmax",
    "uniq", "uniqexact", "uniqcombined", "uniqhll12", "countdistinct",
    "quantile", "quantiles", "quantileexact", "quantilesexact", "quantiletdigest", "quantilestdigest",
    "quantiletiming", "quantilestiming", "quantileexactweighted", "median", "medianexact",
    "stddevpop", "stddevsamp", "varpop", "varsamp", "covarpop", "covarsamp", "corr",
    "grouparray", "groupuniqarray", "topk", "topkweighted", "avgweighted", "grouping",
}  # fmt: skip
# Suffixes ClickHouse combines with an aggregate's name (sumIf, uniqExactIf, countOrNull).
_COMBINATORS = ("if", "distinct", "ornull", "ordefault", "array")
_SCALARS = {
    # arithmetic and comparison
    "plus", "minus", "multiply", "divide", "intdiv", "intdivorzero", "modulo", "negate", "abs",
    "least", "greatest", "round", "roundbankers", "floor", "ceil", "ceiling", "trunc", "truncate",
    "sqrt", "exp", "exp2", "log", "ln", "log2", "log10", "pow", "power", "sign",
    "equals", "notequals", "less", "greater", "lessorequals", "greaterorequals", "isfinite", "isnan",
    "ifnotfinite",
    # conditional and null handling
    "if", "multiif", "ifnull", "nullif", "coalesce", "isnull", "isnotnull", "assumenotnull", "tonullable",
    # type conversion
    "cast", "tostring", "toint8", "toint16", "toint32", "toint64", "touint8", "touint16", "touint32",
    "touint64", "tofloat32", "tofloat64", "todecimal32", "todecimal64", "toint32ornull", "toint64ornull",
    "touint32ornull", "touint64ornull", "tofloat64ornull", "toint64orzero", "touint64orzero",
    "tofloat64orzero", "accuratecastornull", "todate", "todateornull", "todatetime", "todatetimeornull",
    "todatetime64", "todatetime64ornull", "parsedatetime", "parsedatetimebesteffort",
    "parsedatetimebesteffortornull", "parsedatetime64besteffort", "tounixtimestamp",
    "tounixtimestamp64second", "tounixtimestamp64milli", "tounixtimestamp64micro", "tounixtimestamp64nano",
    "fromunixtimestamp", "fromunixtimestamp64milli", "fromunixtimestamp64micro",
    # date and time
    "now", "now64", "today", "yesterday", "totimezone", "formatdatetime", "datename", "monthname",
    "toyear", "toquarter", "tomonth", "todayofmonth", "todayofweek", "todayofyear", "tohour", "tominute",
    "tosecond", "toisoweek", "toyyyymm", "toyyyymmdd", "tomonday", "tolastdayofmonth", "torelativehournum",
    "tostartofsecond", "tostartofmillisecond", "tostartofminute", "tostartoffiveminutes",
    "tostartoffiveminute", "tostartoftenminutes", "tostartoffifteenminutes", "tostartofhour",
    "tostartofday", "tostartofweek", "tostartofmonth", "tostartofquarter", "tostartofyear",
    "tostartofinterval", "timeslot", "datetrunc", "date_trunc", "datediff", "date_diff", "age",
    "timediff", "dateadd", "date_add", "datesub", "date_sub", "extract",
    "addseconds", "addminutes", "addhours", "adddays", "addweeks", "addmonths",
    "subtractseconds", "subtractminutes", "subtracthours", "subtractdays", "subtractweeks",
    "subtractmonths", "tointervalsecond", "tointervalminute", "tointervalhour", "tointervalday",
    "tointervalweek", "tointervalmonth",
    # strings, URLs and JSON
    "length", "lengthutf8", "empty", "notempty", "lower", "upper", "lowerutf8", "upperutf8",
    "substring", "substr", "substringutf8", "left", "right", "concat", "concatwithseparator",
    "trim", "ltrim", "rtrim", "trimboth", "trimleft", "trimright", "position", "positioncaseinsensitive",
    "locate", "like", "ilike", "notlike", "notilike", "match", "extractall", "replaceone", "replaceall",
    "replace", "replaceregexpone", "replaceregexpall", "startswith", "endswith", "splitbychar",
    "splitbystring", "splitbyregexp", "arraystringconcat", "countsubstrings", "hastoken",
    "multisearchany", "format", "formatreadablesize", "formatreadablequantity", "formatreadabletimedelta",
    "repeat", "space", "lpad", "rpad", "leftpad", "rightpad",
    "domain", "domainwithoutwww", "protocol", "path", "pathfull", "querystring", "cutquerystring",
    "extracturlparameter",
    "jsonextractstring", "jsonextractint", "jsonextractuint", "jsonextractfloat", "jsonextractbool",
    "jsonextractraw", "jsonextractkeys", "jsonhas", "jsonlength", "simplejsonextractstring",
    "visitparamextractstring",
    # arrays, tuples and maps (bounded: the arrays come from the tables or from a bounded range)
    "array", "tuple", "tupleelement", "map", "mapkeys", "mapvalues", "mapcontains",
    "has", "hasany", "hasall", "indexof", "countequal", "arrayelement", "arrayjoin", "arraymap",
    "arrayfilter", "arraycount", "arrayexists", "arrayfirst", "arraysum", "arrayavg", "arraymin",
    "arraymax", "arrayslice", "arraysort", "arrayreversesort", "arraydistinct", "arrayuniq",
    "arraycompact", "arrayenumerate", "range",
    # window functions
    "row_number", "rank", "dense_rank", "first_value", "last_value", "laginframe", "leadinframe",
}  # fmt: skip
ALLOWED_FUNCTIONS = frozenset(_AGGREGATES | _SCALARS)

# Keywords that may stand before "(" without being a function call (sqlglot's own output).
_SYNTAX_BEFORE_PAREN = frozenset(
    {
        "ALL", "AND", "ANY", "AS", "BETWEEN", "BY", "CASE", "CUBE", "DISTINCT", "ELSE", "EXCEPT",
        "EXISTS", "FILTER", "FROM", "GLOBAL", "HAVING", "ILIKE", "IN", "INTERSECT", "INTERVAL", "IS",
        "JOIN", "LIKE", "LIMIT", "NOT", "OFFSET", "ON", "OR", "OVER", "ROLLUP", "SELECT", "SETS",
        "THEN", "UNION", "USING", "WHEN", "WHERE", "WITH",
    }
)  # fmt: skip
_NAME_TOKENS = frozenset({TokenType.VAR, TokenType.IDENTIFIER})


def allowed_function(name: str) -> bool:
    """Whether ``name`` (any case) is an allowed function, or an allowed aggregate with combinators."""
    lowered = name.lower()
    if lowered in ALLOWED_FUNCTIONS:
        return True
    for suffix in _COMBINATORS:
        if lowered.endswith(suffix):
            base = lowered[: -len(suffix)]
            if base in _AGGREGATES or _allowed_function_base(base):
                return True
    return False


def _allowed_function_base(name: str) -> bool:
    """An aggregate with further combinators (uniqExactIf → uniqExact → allowed)."""
    return any(name.endswith(s) and name[: -len(s)] in _AGGREGATES for s in _COMBINATORS)


def first_disallowed_call(tokens: Sequence[Token]) -> Token | None:
    """The first ``name(`` among ``tokens`` that is neither an allowed function nor syntax."""
    for token, following in itertools.pairwise(tokens):
        if following.token_type != TokenType.L_PAREN:
            continue
        if not (token.token_type in _NAME_TOKENS or token.text[:1].isalpha() or token.text[:1] == "_"):
            continue
        if allowed_function(token.text):
            continue
        if token.token_type not in _NAME_TOKENS and token.text.upper() in _SYNTAX_BEFORE_PAREN:
            continue
        return token
    return None
