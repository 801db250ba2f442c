"""`deploy adopt`: the inventory's unambiguous findings as mappings, and `--write` adding them to
certsync.yaml with its comments, order and layout kept (ruamel.yaml's round trip).

An unmanaged TLS secret becomes a mapping, with its project and region, when exactly one Secrets
Manager certificate is the same certificate (same serial), or, with none such, exactly one newer
certificate covers every domain that uses it. Every other unmanaged secret is named with the
reason: `no candidate`, `several candidates` or `names not covered`. Existing mappings are never
removed or changed. `proposals` is pure; `write` is the one place that touches the file.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deploy.inventory import NEWER, SAME, Candidate, Inventory, SecretFinding

NO_CANDIDATE, SEVERAL, NOT_COVERED = "no candidate", "several candidates", "names not covered"


@dataclass(frozen=True)
class Proposal:
    finding: SecretFinding
    candidate: Candidate

    def mapping(self) -> dict[str, str]:
        place = self.finding.place
        return {
            "secret": self.candidate.secret_id,
            "target": self.finding.name,
            "project": place.project,
            "region": place.region,
        }


@dataclass(frozen=True)
class Unmatched:
    finding: SecretFinding
    reason: str  # NO_CANDIDATE, SEVERAL or NOT_COVERED
    detail: str


def proposals(inv: Inventory) -> tuple[list[Proposal], list[Unmatched]]:
    """A proposal for each unmanaged secret with one unambiguous source; the others, and why."""
    chosen: list[Proposal] = []
    unmatched: list[Unmatched] = []
    for f in inv.secrets:
        if f.managed:
            continue
        same = [c for c in f.candidates if c.rule == SAME]
        newer = [c for c in f.candidates if c.rule == NEWER]
        pick = same if same else newer
        if len(pick) == 1:
            chosen.append(Proposal(f, pick[0]))
        elif pick:
            names = ", ".join(f"'{c.name}' ({c.secret_id}, {c.rule})" for c in pick)
            unmatched.append(Unmatched(f, SEVERAL, names))
        elif f.uncovered:
            names = ", ".join(f"'{c.name}' ({c.secret_id})" for c in f.uncovered)
            needed = ", ".join(d.domain for d in f.domains) or ", ".join(f.sans)
            unmatched.append(Unmatched(f, NOT_COVERED, f"{names} do not cover {needed}"))
        else:
            why = f.problem or "no certificate in Secrets Manager is the same or newer"
            unmatched.append(Unmatched(f, NO_CANDIDATE, why))
    return chosen, unmatched


def to_dict(chosen: list[Proposal], unmatched: list[Unmatched]) -> dict[str, Any]:
    return {
        "mappings": [p.mapping() for p in chosen],
        "rules": [p.candidate.rule for p in chosen],
        "unmatched": [
            {
                "region": u.finding.place.region,
                "project": u.finding.place.project,
                "name": u.finding.name,
                "reason": u.reason,
                "detail": u.detail,
            }
            for u in unmatched
        ],
    }


def text(chosen: list[Proposal], unmatched: list[Unmatched], header: str) -> str:
    lines = [header, ""]
    if chosen:
        lines.append(f"Mappings to add ({len(chosen)}):")
        lines.append(_yaml_block(chosen))
    else:
        lines.append("No mapping to add.")
    if unmatched:
        lines.append(f"\nNot adopted ({len(unmatched)}):")
        for u in unmatched:
            where = f"{u.finding.place.region}/{u.finding.place.name}"
            lines.append(f"  {u.finding.name} ({where}): {u.reason}: {u.detail}")
    return "\n".join(lines)


def _yaml_block(chosen: list[Proposal]) -> str:
    """The mappings as they will be written, each with the rule that matched as a comment."""
    out = []
    for p in chosen:
        mapping = p.mapping()
        source = f"Secrets Manager '{p.candidate.name}', {p.candidate.rule}"
        out.append(f"  # {p.finding.name}: {source}")
        keys = list(mapping)
        out.append(f"  - {keys[0]}: {mapping[keys[0]]}")
        out += [f"    {k}: {mapping[k]}" for k in keys[1:]]
    return "\n".join(out)


def write(path: str | Path, chosen: list[Proposal]) -> None:
    """Append the proposals to `mappings` in `path`, keeping everything else as written."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.util import load_yaml_guess_indent

    source = Path(path).read_text(encoding="utf-8")
    _, indent, block_indent = load_yaml_guess_indent(source)
    yaml = YAML()  # round trip: comments, key order, quotes and flow style kept
    yaml.preserve_quotes = True
    yaml.indent(mapping=indent or 2, sequence=indent or 2, offset=block_indent or 0)
    yaml.width = 4096
    data = yaml.load(source)
    for p in chosen:
        data["mappings"].append(CommentedMap(p.mapping()))
    buffer = io.StringIO()
    yaml.dump(data, buffer)
    Path(path).write_text(buffer.getvalue(), encoding="utf-8")
