"""load_tools: the model asks for a group of tools it was not sent with this question.

The router (assistant/routing.py) sends the model only the tools a question needs; the groups it
left out are named in this tool's description, and a call makes them available from the next
model request of the conversation on. The result lists what each loaded tool does, so the model
can call them right away.
"""

from __future__ import annotations

from tools import registry
from tools.result import ToolContext, ToolResult
from warehouse.errors import InvalidArgument


def load_tools(ctx: ToolContext, groups: list[str]) -> ToolResult:
    """Load tool groups that were not sent with this question, for the rest of the conversation.

    Args:
        groups: e.g. ["segments"].
    """
    known = registry.optional_groups()
    wanted = [g.strip().lower() for g in groups or [] if g and g.strip()]
    unknown = [g for g in wanted if g not in known]
    if unknown or not wanted:
        named = ", ".join(repr(g) for g in unknown) or "no group"
        raise InvalidArgument(f"{named} is not a tool group; the groups are {', '.join(known)}")
    installed = {fn.__name__: fn for fn in registry.agent_tools()}
    lines = []
    for group in dict.fromkeys(wanted):
        names = [n for n in registry.tools_of([group]) if n in installed]
        if not names:
            lines.append(f"{group}: no tools of this group are installed")
            continue
        lines.append(f"{group}: " + "; ".join(
            f"{n} ({_first_line(installed[n].__doc__)})" for n in names))
    return ToolResult(summary="Loaded, call them now. " + "\n".join(lines),
                      data={"groups": list(dict.fromkeys(wanted))})


def _first_line(doc: str | None) -> str:
    return (doc or "").strip().splitlines()[0].rstrip(".") if doc else ""


def describe_groups(groups: list[str]) -> str:
    """'name (blurb); ...' for the groups, as the model reads them in load_tools."""
    return "; ".join(f"{g} ({registry.GROUPS[g].blurb})" if g in registry.GROUPS else g
                     for g in groups)
