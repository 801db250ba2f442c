"""`deploy inventory`'s three outputs: text (a table, worst first, then the summary line), one JSON
document, and one self-contained HTML page (inline style, no script, nothing loaded from
elsewhere). Certificate subjects, names and API values come from outside: in HTML every one is
escaped (`html.escape`), so a certificate named `<script>` shows as text."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from html import escape
from typing import Any

from deploy.inventory import Inventory, SecretFinding

TIMELINE_DAYS = 90


def summary_line(inv: Inventory) -> str:
    """`12 TLS secrets in 4 projects: 9 managed, 3 unmanaged`, then, when any is at risk,
    `, 1 expires in 6 days and nothing renews it`."""
    s = inv.summary
    line = (
        f"{s.secrets} TLS secret{_s(s.secrets)} in {s.projects} project{_s(s.projects)}: "
        f"{s.managed} managed, {s.unmanaged} unmanaged"
    )
    risky = [f for f in inv.secrets if f.at_risk]
    if not risky:
        return line
    worst = max((f.days_left or 0) for f in risky)
    days = f"{worst} day{_s(worst)}"
    if len(risky) == 1:
        return f"{line}, 1 expires in {days} and nothing renews it"
    return f"{line}, {len(risky)} expire within {days} and nothing renews them"


def _s(count: int) -> str:
    return "" if count == 1 else "s"


def text(inv: Inventory, header: str) -> str:
    rows = [("DAYS", "NOT AFTER", "", "REGION", "PROJECT", "SECRET", "SUBJECT")]
    details: list[list[str]] = [[]]
    for f in inv.secrets:
        rows.append(
            (
                "?" if f.days_left is None else str(f.days_left),
                f.not_after.strftime("%Y-%m-%d") if f.not_after else "-",
                "managed" if f.managed else "UNMANAGED",
                f.place.region,
                f.place.name,
                f.name,
                f.subject or "-",
            )
        )
        details.append(_details(f))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [header, ""]
    for row, more in zip(rows, details, strict=True):
        cells = [c.rjust(widths[0]) if i == 0 else c.ljust(widths[i]) for i, c in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
        lines += [f"      {d}" for d in more]
    lines += ["", *(f"problem: {p}" for p in inv.problems), summary_line(inv)]
    return "\n".join(lines)


def _details(f: SecretFinding) -> list[str]:
    out = []
    if f.problem:
        out.append(f"! {f.problem}")
    elif not f.key_matches:
        out.append("! the key does not match the certificate")
    if not f.problem and not f.chain_complete:
        out.append("! the chain is incomplete (no path to a trusted root)")
    for d in f.domains:
        if d.serves_secret:
            out.append(f"domain {d.domain} (app {d.app or '-'}): serves this certificate")
        else:
            out.append(f"! domain {d.domain} (app {d.app or '-'}): {d.reason}, not this secret's")
    for c in f.candidates:
        out.append(f"candidate: Secrets Manager '{c.name}' ({c.secret_id}), {c.rule}")
    if f.at_risk:
        out.append("! expires soon and nothing renews it")
    return out


def to_dict(inv: Inventory) -> dict[str, Any]:
    return {
        "secrets": [_secret(f) for f in inv.secrets],
        "summary": asdict(inv.summary),
        "problems": list(inv.problems),
    }


def _secret(f: SecretFinding) -> dict[str, Any]:
    """The finding's fields, its place spelt out, without `uncovered` (adopt's own detail)."""
    out = {k: v for k, v in asdict(f).items() if k not in ("place", "uncovered")}
    return {
        **out,
        "region": f.place.region,
        "project": f.place.project,
        "project_name": f.place.name,
        "not_after": f.not_after.isoformat() if f.not_after else None,
    }


STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #ccc;padding:4px 8px;
text-align:left;vertical-align:top}th{background:#eee}tr.expired td{background:#f4b6b6}
tr.critical td{background:#f9d3b0}tr.soon td{background:#fbefb0}tr.ok td{background:#dff0d8}
.unmanaged{font-weight:bold}.bad{color:#a00}
.timeline{position:relative;height:HEIGHTpx;border:1px solid #ccc;margin:1em 0 2em}
.tick{position:absolute;top:0;bottom:0;border-left:1px dashed #bbb;font-size:11px;color:#666}
.mark{position:absolute;height:18px;padding:0 4px;font-size:12px;white-space:nowrap;
border-left:3px solid #a00;background:#fff8}
"""


def html_page(inv: Inventory, title: str, now: dt.datetime, warn_days: int) -> str:
    """One page: the summary, an expiry timeline of the next 90 days, and the table."""
    rows = "\n".join(_row(f, warn_days) for f in inv.secrets)
    problems = "".join(f"<li>{escape(p)}</li>" for p in inv.problems)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>{escape(title)}</title><style>{_style(inv)}</style></head><body>
<h1>{escape(title)}</h1>
<p>{escape(summary_line(inv))} (as of {escape(now.strftime("%Y-%m-%d %H:%M UTC"))})</p>
{f"<ul class='bad'>{problems}</ul>" if problems else ""}
<h2>Expiring in the next {TIMELINE_DAYS} days</h2>
{_timeline(inv)}
<table><thead><tr><th>Days left</th><th>Not after</th><th>Managed</th><th>Region</th>
<th>Project</th><th>Secret</th><th>Subject</th><th>SANs</th><th>Issuer</th><th>Serial</th>
<th>Domains</th><th>Candidates</th></tr></thead>
<tbody>
{rows}
</tbody></table>
</body></html>
"""


def _soon(inv: Inventory) -> list[SecretFinding]:
    return [f for f in inv.secrets if f.days_left is not None and f.days_left <= TIMELINE_DAYS]


def _style(inv: Inventory) -> str:
    return STYLE.replace("HEIGHT", str(24 + 20 * len(_soon(inv))))


def _timeline(inv: Inventory) -> str:
    ticks = "".join(
        f'<div class="tick" style="left:{d * 100 / TIMELINE_DAYS:.1f}%">{d}</div>'
        for d in range(0, TIMELINE_DAYS + 1, 15)
    )
    marks = "".join(
        f'<div class="mark" style="left:{max(0, f.days_left or 0) * 100 / TIMELINE_DAYS:.1f}%;'
        f'top:{20 + 20 * n}px">{escape(f.name)} ({f.days_left} d)</div>'
        for n, f in enumerate(_soon(inv))
    )
    return f'<div class="timeline">{ticks}{marks}</div>'


def _urgency(f: SecretFinding, warn_days: int) -> str:
    if f.days_left is None or f.days_left < 0:
        return "expired"
    if f.days_left < warn_days:
        return "critical"
    return "soon" if f.days_left < 2 * warn_days else "ok"


def _row(f: SecretFinding, warn_days: int) -> str:
    domains = "<br>".join(
        escape(d.domain)
        + ("" if d.serves_secret else f' <span class="bad">({escape(d.reason or "")})</span>')
        for d in f.domains
    )
    candidates = "<br>".join(
        f"{escape(c.name)} ({escape(c.secret_id)}, {escape(c.rule)})" for c in f.candidates
    )
    cells = [
        "?" if f.days_left is None else str(f.days_left),
        escape(f.not_after.strftime("%Y-%m-%d")) if f.not_after else "-",
        "managed" if f.managed else '<span class="unmanaged">unmanaged</span>',
        escape(f.place.region),
        escape(f.place.name),
        escape(f.name),
        escape(f.subject or f.problem or ""),
        escape(", ".join(f.sans)),
        escape(f.issuer),
        escape(f.serial),
        domains,
        candidates,
    ]
    tds = "".join(f"<td>{c}</td>" for c in cells)
    return f'<tr class="{_urgency(f, warn_days)}">{tds}</tr>'
