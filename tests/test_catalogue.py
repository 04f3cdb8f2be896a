"""The Korean catalogue is complete, well formed and shipped, and no English-only text comes back.

- Every string marked for translation (``t(interaction, "...")``, ``N_("...")``) in cogs/, notifier/
  and domain/, extracted with Babel exactly as ``babel.cfg`` says, has a Korean msgstr.
- Every command, group, option and choice name and every description of the bot's real command tree,
  as synced to Discord, has a Korean localization looked up in its own context (a group name and a
  command name may differ), and every Korean name keeps Discord's name rule.
- picket.po parses, has no duplicate, fuzzy or obsolete entry, and each msgstr keeps its msgid's
  ``{placeholders}``.
- The built package holds the catalogue.
- No string literal reaches a user straight from cogs/ (``content=``, ``title=``, ``label=``...)
  without going through ``t(...)``.
"""

from __future__ import annotations

import ast
import re
import shutil
import string
import subprocess
import sys
import unicodedata
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from notifier import i18n

ROOT = Path(__file__).resolve().parent.parent
PO = i18n.po_path("ko")
KEYWORDS = {"t": (2,), "N_": None, "NC_": ((1, "c"), 2)}  # babel.cfg's header: -k t:2 -k N_ -k NC_:1c,2
SCANNED = ("cogs", "notifier", "domain")


def _korean():
    with PO.open("rb") as f:
        return read_po(f, locale="ko", domain=i18n.DOMAIN)


def _marked() -> dict[str, list[str]]:
    """Every marked string of cogs/, notifier/ and domain/ -> where it is (file:line)."""
    found: dict = {}
    for folder in SCANNED:
        method_map = [("**.py", "python")]
        for filename, lineno, message, _comments, context in extract_from_dir(
            ROOT / folder, method_map=method_map, keywords=KEYWORDS
        ):
            if isinstance(message, tuple):
                message = message[0]
            if message:
                found.setdefault((message, context) if context else message, []).append(f"{folder}/{filename}:{lineno}")
    return found


def test_babel_cfg_scans_what_this_check_scans():
    cfg = (ROOT / "babel.cfg").read_text()
    for folder in SCANNED:
        assert f"[python: {folder}/**.py]" in cfg
    assert "-k t:2" in cfg and "-k N_" in cfg and "-k NC_:1c,2" in cfg


def test_every_marked_string_has_korean():
    catalogue = _korean()
    marked = _marked()
    assert len(marked) > 100, "the extraction found almost nothing: is babel.cfg's keyword list still t:2 and N_?"

    def korean(key) -> bool:
        text, context = key if isinstance(key, tuple) else (key, None)
        entry = catalogue.get(text, context=context)
        return bool(entry and entry.string)

    missing = [
        f"{where[0]}: {key!r}" for key, where in sorted(marked.items(), key=lambda kv: kv[1][0]) if not korean(key)
    ]
    assert not missing, "no Korean entry in picket.po for:\n" + "\n".join(missing)


# --- the command tree, as Discord receives it -------------------------------------------------------


# Discord's rule for a localized command, option or choice-less name: ^[-_\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$,
# lowercase where the script has case.
def _discord_name_ok(name: str) -> bool:
    if not 1 <= len(name) <= 32 or name != name.lower():
        return False
    for ch in name:
        if ch in "-_":
            continue
        category = unicodedata.category(ch)
        if category[0] in "LN":
            continue
        if "DEVANAGARI" in unicodedata.name(ch, "") or "THAI" in unicodedata.name(ch, ""):
            continue
        return False
    return True


def _synced(env) -> list[dict]:
    puts = [r for r in env.http_requests if r.method == "PUT" and r.path.endswith("/commands")]
    assert puts, "the bot synced no commands"
    return puts[-1].json


def _walk(items: list[dict], path: str = ""):
    """(where, item) for every command, group, option and choice in a synced payload."""
    for item in items:
        where = f"{path} {item['name']}".strip()
        yield where, item
        for choice in item.get("choices") or []:
            yield f"{where} choice {choice['name']}", choice
        yield from _walk(item.get("options") or [], where)


async def test_every_command_name_and_description_is_korean(world):
    synced = _synced(world.env)
    problems = []
    for where, item in _walk(synced):
        ko_name = (item.get("name_localizations") or {}).get("ko")
        if not ko_name:
            problems.append(f"/{where}: no Korean name for {item['name']!r}")
        elif "value" not in item and not _discord_name_ok(ko_name):
            problems.append(f"/{where}: Korean name {ko_name!r} breaks Discord's name rule")
        elif "value" in item and not 1 <= len(ko_name) <= 100:
            problems.append(f"/{where}: Korean choice name {ko_name!r} is not 1-100 characters")
        if "value" in item:
            continue  # a choice has no description
        ko_description = (item.get("description_localizations") or {}).get("ko")
        if not ko_description:
            problems.append(f"/{where}: no Korean description for {item['description']!r}")
        elif not 1 <= len(ko_description) <= 100:
            problems.append(f"/{where}: Korean description is {len(ko_description)} characters (1-100)")

    # Siblings may not share a Korean name (Discord refuses the sync).
    def siblings(items, path=""):
        names = [(i.get("name_localizations") or {}).get("ko") for i in items]
        dup = {n for n in names if n and names.count(n) > 1}
        if dup:
            problems.append(f"/{path or '(top level)'}: Korean names used twice: {sorted(dup)}")
        for i in items:
            siblings(i.get("options") or [], f"{path} {i['name']}".strip())

    siblings(synced)
    assert not problems, "\n".join(problems)


async def test_a_group_and_a_command_of_the_same_word_read_differently(world):
    synced = {c["name"]: c for c in _synced(world.env)}
    show_group = synced["show"]["name_localizations"]["ko"]
    ticket_show = next(o for o in synced["ticket"]["options"] if o["name"] == "show")["name_localizations"]["ko"]
    assert show_group == "공연"
    assert ticket_show == "보기"


# --- the .po file itself ---------------------------------------------------------------------------------


def _raw_entries(text: str) -> list[tuple[str | None, str, list[str]]]:
    """(msgctxt, msgid, flags) of every entry, as written (Babel's reader would fold duplicates)."""
    entries = []
    for block in text.split("\n\n"):
        ctx = msgid = None
        flags: list[str] = []
        field = None
        parts: dict[str, list[str]] = {}
        for line in block.splitlines():
            line = line.strip()
            if line.startswith("#,"):
                flags += [f.strip() for f in line[2:].split(",")]
            if line.startswith("#"):
                continue
            for key in ("msgctxt", "msgid", "msgstr"):
                if line.startswith(key + " "):
                    field = key
                    parts[key] = [ast.literal_eval(line[len(key) + 1 :])]
                    break
            else:
                if line.startswith('"') and field:
                    parts[field].append(ast.literal_eval(line))
        if "msgid" in parts:
            ctx = "".join(parts["msgctxt"]) if "msgctxt" in parts else None
            msgid = "".join(parts["msgid"])
            entries.append((ctx, msgid, flags))
    return entries


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_po_parses_without_duplicates_fuzzy_or_obsolete_entries():
    text = PO.read_text(encoding="utf-8")
    catalogue = _korean()  # raises on a syntax error
    entries = _raw_entries(text)
    seen, duplicates = set(), []
    for ctx, msgid, _ in entries:
        if (ctx, msgid) in seen:
            duplicates.append(f"{ctx!r} {msgid!r}")
        seen.add((ctx, msgid))
    assert not duplicates, "duplicate entries:\n" + "\n".join(duplicates)
    assert not [m.id for m in catalogue if m.id and m.fuzzy], "fuzzy entries"
    assert not [e for e in entries if "fuzzy" in e[2]], "fuzzy entries"
    assert not catalogue.obsolete and "\n#~ " not in text, "obsolete entries"
    assert len(entries) == len([m for m in catalogue if m.id]) + 1  # the header, and nothing dropped


def test_every_translation_keeps_its_placeholders():
    wrong = []
    for message in _korean():
        if not message.id or not message.string:
            continue
        if _fields(message.id) != _fields(message.string):
            wrong.append(f"{message.id!r} -> {message.string!r}")
    assert not wrong, "placeholders differ:\n" + "\n".join(wrong)


def test_the_built_package_ships_the_catalogue(tmp_path):
    """setuptools' build_py (what a wheel is made of) on a copy of the project's packages."""
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    for package in ("bot", "cogs", "domain", "notifier", "migrations"):
        shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path / "build"
    subprocess.run(
        [sys.executable, "-c", "from setuptools import setup; setup()", "-q", "build_py", "-d", str(out)],
        cwd=source,
        check=True,
        capture_output=True,
    )
    shipped = out / "notifier" / "locale" / "ko" / "LC_MESSAGES" / "picket.po"
    assert shipped.is_file()
    assert shipped.read_bytes() == PO.read_bytes()


# --- no English-only text in cogs/ ----------------------------------------------------------------------

SHOWN = {"content", "title", "label", "placeholder", "description", "name", "text"}
SENDERS = {"reply", "edit", "post", "send_message", "send"}  # their first text argument is content


def _english(node: ast.AST) -> bool:
    """A literal (or f-string) with words of its own in it."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return any(c.isascii() and c.isalpha() for c in node.value)
    if isinstance(node, ast.JoinedStr):
        return any(_english(v) for v in node.values if isinstance(v, ast.Constant))
    if isinstance(node, ast.BinOp):
        return _english(node.left) or _english(node.right)
    if isinstance(node, ast.IfExp):
        return _english(node.body) or _english(node.orelse)
    return False


def _callee(call: ast.Call) -> str:
    f = call.func
    return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""


def _is_app_commands(call: ast.Call) -> bool:
    """Command tree declarations: the Translator localizes them (checked above)."""
    f = call.func
    while isinstance(f, ast.Attribute):
        f = f.value
    return isinstance(f, ast.Name) and f.id == "app_commands"


def _error_code(node: ast.AST) -> bool:
    """A domain error's code ("show.cancelled"): notifier/errors_text.py words it in the reader's language."""
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and re.fullmatch(r"[a-z_]+(\.[a-z_]+)+", node.value) is not None
    )


def hardcoded_english(source: str, filename: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if not isinstance(node, ast.Call) or _is_app_commands(node):
            continue
        for kw in node.keywords:
            if kw.arg in SHOWN and _english(kw.value):
                found.append(f"{filename}:{kw.value.lineno}: {kw.arg}={ast.unparse(kw.value)[:80]}")
        if _callee(node) in SENDERS:
            for arg in node.args:
                if _english(arg):
                    found.append(f"{filename}:{arg.lineno}: {_callee(node)}(..., {ast.unparse(arg)[:80]})")
        if isinstance(node.func, ast.Attribute) and node.func.attr in {
            "InvalidInput",
            "NotPermitted",
            "NotFound",
            "AlreadyDone",
            "ShowCancelled",
        }:
            for arg in node.args:
                if _english(arg) and not _error_code(arg):
                    found.append(f"{filename}:{arg.lineno}: {node.func.attr}({ast.unparse(arg)[:80]})")
    return found


def test_the_guard_catches_english_only_text():
    sample = (
        "async def f(interaction, x):\n"
        "    await reply(interaction, f'You left the queue for {x}.')\n"
        "    embed.add_field(name='Revenue', value=x)\n"
        "    discord.ui.Button(label='Pay', custom_id='picket:x')\n"
        "    await reply(interaction, t(interaction, 'You left the queue for {x}.', x=x))\n"
        "    embed.add_field(name=t(interaction, 'Revenue'), value=f'{x} · {x}')\n"
        "    app_commands.Choice(name='charge', value='charge')\n"
    )
    assert sorted(int(line.split(":")[1]) for line in hardcoded_english(sample, "s.py")) == [2, 3, 4]


def test_no_hardcoded_english_in_cogs():
    found = []
    for path in sorted((ROOT / "cogs").rglob("*.py")):
        found += hardcoded_english(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    assert not found, "user-facing text not wrapped in t(...):\n" + "\n".join(found)
