"""Each cog reads on its own: a cog module (cogs/*.py, one discord.py cog each) imports no other cog
module, and what cogs share lives in cogs/common/, which imports no cog either. Checked on the source
(AST), so an import inside a function counts too. And every /show command re-checks organizer
rights: the check is on the command, not remembered by each body."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COGS = ROOT / "cogs"


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def _imported(tree: ast.AST, module: str) -> set[str]:
    """Every module ``tree`` imports (``from cogs import x`` counts as ``cogs.x``)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolved against the importing module's package
                package = module.split(".")[: -node.level]
                base = ".".join([*package, base] if base else package)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _defines_a_cog(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for base in node.bases:
                name = ast.unparse(base)
                if name.split(".")[-1] in {"Cog", "GroupCog"}:
                    return True
    return False


def cross_cog_imports(sources: dict[str, str]) -> list[str]:
    """``module -> source`` of the cogs package: "importer imports cog" for each import of a cog
    module by another cog module, or by a shared one."""
    trees = {module: ast.parse(source, module) for module, source in sources.items()}
    cogs = {module for module, tree in trees.items() if _defines_a_cog(tree)}
    found = []
    for module, tree in sorted(trees.items()):
        for target in sorted(_imported(tree, module) & cogs - {module}):
            found.append(f"{module} imports {target}")
    return found


def _sources() -> dict[str, str]:
    return {_module(path): path.read_text(encoding="utf-8") for path in sorted(COGS.rglob("*.py"))}


def test_the_guard_catches_a_cog_importing_another():
    sources = {
        "cogs.a": "from discord.ext import commands\nclass A(commands.Cog):\n    pass\n",
        "cogs.b": "from discord.ext import commands\nfrom cogs.a import helper\nclass B(commands.GroupCog):\n    pass\n",
        "cogs.c": "from discord.ext import commands\nclass C(commands.Cog):\n    def f(self):\n        from cogs import b\n",
        "cogs.common.x": "from . import y\nimport cogs.a\n",
        "cogs.common.y": "from cogs.common.x import z\n",
        "cogs.d": "from discord.ext import commands\nfrom cogs.common.x import z\nclass D(commands.Cog):\n    pass\n",
    }
    assert cross_cog_imports(sources) == [
        "cogs.b imports cogs.a",
        "cogs.c imports cogs.b",
        "cogs.common.x imports cogs.a",
    ]


def test_no_cog_imports_another_cog():
    sources = _sources()
    cogs = [module for module, source in sources.items() if _defines_a_cog(ast.parse(source))]
    assert len(cogs) >= 8 and all(module.count(".") == 1 for module in cogs), (
        cogs
    )  # cogs/*.py, nothing under cogs/common/
    assert not cross_cog_imports(sources), "\n".join(cross_cog_imports(sources))


def test_every_show_command_rechecks_organizer_rights():
    from cogs.common.authority import organizer_only
    from cogs.common.services import Services
    from cogs.shows import ShowsCog

    check = organizer_only(lambda: None).__discord_app_commands_checks__[0]
    group = ShowsCog(
        Services(store=None, gateway=None, sender=None, redis=None, keyring=None)
    ).__cog_app_commands_group__
    commands = group.walk_commands()
    names = []
    for command in commands:
        names.append(command.name)
        assert check in command.checks, f"/show {command.name} does not check organizer rights"
    assert {"create", "edit", "policy", "cancel", "announce", "seats", "staff", "sales"} <= set(names)
