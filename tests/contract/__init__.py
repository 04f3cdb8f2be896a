"""Every request the bot makes is checked against Discord's own description of its HTTP API.

``discord-openapi.json`` (MIT, ``LICENSE-discord-openapi``) is Discord's OpenAPI 3.1 specification,
copied unchanged from discord/discord-api-spec, ``specs/openapi.json`` at commit
74fda0fad044407ea280043a03ffc9bc64c4e49e. Each request SimCord records is matched to the spec's
operation by method and path template (an unknown path is a violation) and its JSON body (for an
upload, its ``payload_json``) is validated against the operation's request schema with ``jsonschema``
(Draft 2020-12, ``$ref``s resolved inside the document through a ``referencing`` registry). Then
Discord's documented rules the spec leaves out are checked with the limits of notifier/messages.py:
2,000 characters of content for a bot, embed sizes, 10 attachments, an interaction answered (or
deferred) within 3 s of SimCord's clock.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from notifier import messages as limits

SPEC_PATH = Path(__file__).with_name("discord-openapi.json")
SPEC_COMMIT = "74fda0fad044407ea280043a03ffc9bc64c4e49e"
INTERACTION_DEADLINE = timedelta(seconds=3)
_DEFERRED = {5, 6}  # DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE, DEFERRED_UPDATE_MESSAGE


@dataclass(frozen=True)
class Request:
    """One request the bot made, as the contract check sees it."""

    method: str
    path: str
    params: dict[str, Any]
    body: Any
    files: int = 0
    at: datetime | None = None  # SimCord's clock when the bot sent it


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    operation_id: str
    literals: int
    pattern: re.Pattern
    node: dict


@cache
def spec() -> dict:
    """The copied specification, with two widenings: Discord sends snowflakes as strings but takes them
    as JSON integers too, and discord.py sends integers (``recipient_id``, ``attachments[].id``); and a
    permission bit set (``permissions``, ``allow``, ``deny``), which the copy types as an integer, is
    documented by Discord as a string of digits (it outgrows 2^53), which is what discord.py sends."""
    doc = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    schemas = doc["components"]["schemas"]
    schemas["SnowflakeType"] = {
        "anyOf": [schemas["SnowflakeType"], {"type": "integer", "minimum": 0, "maximum": 2**64 - 1}]
    }
    for schema in schemas.values():
        for name, prop in (schema.get("properties") or {}).items():
            if name in ("permissions", "allow", "deny") and "integer" in (prop.get("type") or ()):
                schema["properties"][name] = {"anyOf": [prop, {"type": "string", "pattern": "^[0-9]{1,20}$"}]}
    return doc


@cache
def _operations() -> dict[str, list[Operation]]:
    by_method: dict[str, list[Operation]] = {}
    for template, item in spec()["paths"].items():
        segments = template.strip("/").split("/")
        regex = "/" + "/".join("[^/]+" if s.startswith("{") else re.escape(s) for s in segments)
        literals = sum(not s.startswith("{") for s in segments)
        for method, node in item.items():
            if not isinstance(node, dict) or "responses" not in node:
                continue
            op = Operation(
                method.upper(),
                template,
                node.get("operationId", f"{method} {template}"),
                literals,
                re.compile(regex + "$"),
                node,
            )
            by_method.setdefault(op.method, []).append(op)
    for ops in by_method.values():
        ops.sort(key=lambda o: -o.literals)  # ".../messages/bulk-delete" before ".../messages/{message_id}"
    return by_method


def operation_for(method: str, path: str) -> Operation | None:
    for op in _operations().get(method.upper(), ()):
        if op.pattern.match(path):
            return op
    return None


@cache
def _registry():
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    return Registry().with_resource(
        "urn:discord-openapi", Resource.from_contents(spec(), default_specification=DRAFT202012)
    )


@cache
def validator(operation_id: str, method: str, template: str):
    """The compiled validator of an operation's JSON request body (None if it takes no body)."""
    from jsonschema import Draft202012Validator

    node = spec()["paths"][template][method.lower()]
    content = (node.get("requestBody") or {}).get("content") or {}
    schema = (content.get("application/json") or {}).get("schema")
    if schema is None:
        return None
    # the operation's schema, its $refs ("#/components/...") resolved against the whole document
    pointer = "/".join(
        [
            "#",
            "paths",
            template.replace("~", "~0").replace("/", "~1"),
            method.lower(),
            "requestBody",
            "content",
            "application~1json",
            "schema",
        ]
    )
    return Draft202012Validator({"$ref": "urn:discord-openapi" + pointer}, registry=_registry())


@cache
def _query_names(method: str, template: str) -> frozenset[str]:
    item = spec()["paths"][template]
    params = [*(item.get("parameters") or ()), *(item[method.lower()].get("parameters") or ())]
    return frozenset(p["name"] for p in params if p.get("in") == "query")


def _where(error) -> str:
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    return "body" + path


def _best(errors):
    """The error that names a field: inside an anyOf/oneOf (an interaction callback's seven kinds), the
    branch that got deepest into the body is the one the request meant."""
    from jsonschema.exceptions import best_match

    def leaves(e):
        if not e.context:
            yield e
        for sub in e.context or ():
            yield from leaves(sub)

    error = best_match(errors)
    return max(leaves(error), key=lambda e: len(e.absolute_path)) if error.context else error


def _short(error) -> str:
    if error.validator in ("maxLength", "maxItems", "maxProperties"):
        return f"is {len(error.instance)} long, over the limit of {error.validator_value} ({error.validator})"
    text = error.message
    return text if len(text) <= 200 else text[:90] + " … " + text[-90:]


def check_schema(req: Request) -> list[str]:
    op = operation_for(req.method, req.path)
    if op is None:
        return [f"{req.method} {req.path}: no such operation in Discord's API specification"]
    out = []
    known = _query_names(op.method, op.template)
    for name in req.params or {}:
        if name not in known:
            out.append(
                f"{req.method} {req.path} ({op.operation_id}): query parameter {name!r} is not one the operation takes ({', '.join(sorted(known)) or 'none'})"
            )
    if req.body is None:
        return out
    found = _body_problem(op.operation_id, op.method, op.template, json.dumps(req.body, sort_keys=True, default=str))
    return out + ([f"{req.method} {req.path} ({op.operation_id}): {found} (Discord's specification)"] if found else [])


@lru_cache(maxsize=4096)
def _body_problem(operation_id: str, method: str, template: str, body: str) -> str | None:
    """The first schema error of a body (cached by its text: every test syncs the same command tree)."""
    v = validator(operation_id, method, template)
    if v is None:
        return None
    errors = list(v.iter_errors(json.loads(body)))
    if not errors:
        return None
    best = _best(errors)
    return f"{_where(best)}: {_short(best)}"


def _length(text: Any) -> int:
    return len(text) if isinstance(text, str) else 0


def check_documented_limits(req: Request) -> list[str]:
    """Discord's documented limits the specification leaves out (or states for users, not bots)."""
    body = req.body if isinstance(req.body, dict) else {}
    where = f"{req.method} {req.path}"
    out: list[str] = []
    # an interaction callback carries its message under "data"
    message = body.get("data") if isinstance(body.get("data"), dict) and "type" in body else body
    content = message.get("content")
    if _length(content) > limits.CONTENT:
        out.append(f"{where}: content is {len(content)} characters, over the limit of {limits.CONTENT}")
    embeds = message.get("embeds") or []
    if isinstance(embeds, list):
        if len(embeds) > limits.EMBEDS:
            out.append(f"{where}: embeds has {len(embeds)} embeds, over the limit of {limits.EMBEDS}")
        total = 0
        for i, e in enumerate(embeds):
            if not isinstance(e, dict):
                continue
            total += limits.embed_length(e)
            checks = [
                (f"embeds[{i}].title", _length(e.get("title")), limits.TITLE),
                (f"embeds[{i}].description", _length(e.get("description")), limits.DESCRIPTION),
                (f"embeds[{i}].footer.text", _length((e.get("footer") or {}).get("text")), limits.FOOTER),
                (f"embeds[{i}].author.name", _length((e.get("author") or {}).get("name")), limits.AUTHOR),
                (f"embeds[{i}].fields", len(e.get("fields") or ()), limits.FIELDS),
            ]
            for j, f in enumerate(e.get("fields") or ()):
                checks.append((f"embeds[{i}].fields[{j}].name", _length(f.get("name")), limits.FIELD_NAME))
                checks.append((f"embeds[{i}].fields[{j}].value", _length(f.get("value")), limits.FIELD_VALUE))
            for name, n, limit in checks:
                if n > limit:
                    out.append(f"{where}: {name} is {n} long, over the limit of {limit}")
        if total > limits.EMBED_TOTAL:
            out.append(
                f"{where}: embeds total {total} characters, over the limit of {limits.EMBED_TOTAL} across a message"
            )
    if req.files > limits.ATTACHMENTS:
        out.append(f"{where}: {req.files} files attached, over the limit of {limits.ATTACHMENTS} attachments")
    attachments = message.get("attachments")
    if isinstance(attachments, list) and len(attachments) > limits.ATTACHMENTS:
        out.append(f"{where}: attachments has {len(attachments)} entries, over the limit of {limits.ATTACHMENTS}")
    return out


def snowflake_time(snowflake: int) -> datetime:
    from datetime import UTC

    return datetime(2015, 1, 1, tzinfo=UTC) + timedelta(milliseconds=snowflake >> 22)


_CALLBACK = re.compile(r"^/interactions/(\d+)/[^/]+/callback$")


def check_interaction_deadline(req: Request) -> list[str]:
    m = _CALLBACK.match(req.path)
    if not m or req.at is None:
        return []
    late = req.at - snowflake_time(int(m.group(1)))
    if late <= INTERACTION_DEADLINE:
        return []
    kind = (req.body or {}).get("type") if isinstance(req.body, dict) else None
    what = "deferred" if kind in _DEFERRED else "answered"
    return [
        f"{req.method} {req.path}: interaction {what} {late.total_seconds():.1f} s after it was created, over the limit of 3 s (defer slow work)"
    ]


def check(requests: list[Request]) -> list[str]:
    """Every violation of Discord's contract among ``requests``, each naming the field and the limit."""
    out: list[str] = []
    for req in requests:
        out += check_schema(req)
        out += check_documented_limits(req)
        out += check_interaction_deadline(req)
    return out
