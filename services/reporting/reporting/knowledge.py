"""The knowledge-base reports (issue 17, item 4: "the loop of manual 002"; pure, no I/O).

The classifier suggests articles and reply templates for every ticket (``knowledge.suggested``), agents use
them and say whether they helped (``knowledge.feedback``), and the items change (``knowledge.changed``).
Reporting closes the loop for supervisors:

* per item (:func:`build_knowledge_report`): how many of the period's tickets it was suggested to, used
  on, judged helpful / not helpful, and the satisfaction of the tickets it was used on;
* per problem (:func:`build_gaps`): the period's frequent problems (category × module, with their
  keywords) that the knowledge base does not answer yet — "write an article for this".

Both read the ``all`` day cells of the period (the counters of
:func:`~reporting.domain.knowledge_counters`, counted on each ticket's creation day), so their cost depends
on the days asked, never on the number of tickets; the titles and status come from the item catalog.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from .domain import KNOWLEDGE_ITEM_COUNTERS, UNCLASSIFIED, ItemStatus, KnowledgeItemInfo, KnowledgeKind, clean_key
from .kpi import TopRow, _prefixed, _ratio, _safe_csv, _top, sum_counts


def _raw(key: str) -> str:
    """An item id as it was before :func:`~reporting.domain.clean_key` (for items not in the catalog)."""
    return key.replace("\uff0e", ".").replace("\uff04", "$")


# ----------------------------------------------------------------------------- per item
class KnowledgeItemRow(BaseModel):
    item_id: str
    kind: KnowledgeKind | None = Field(None, description="article or template (None: never described yet).")
    title: str | None = Field(None, description="From knowledge.changed, else the latest title seen on an event.")
    topic: str | None = None
    lang: str | None = None
    status: ItemStatus | None = Field(
        None, description="draft / published / archived (only knowledge.changed says it).")
    suggested: int = Field(description="The period's tickets whose latest suggestions list the item.")
    used: int = Field(description="The period's tickets the item was used on (inserted or linked in a reply).")
    helpful: int = Field(description="Tickets whose verdict on the item is helpful (each agent's last verdict; "
                                     "the majority of the agents, a tie to the latest).")
    not_helpful: int = Field(description="Tickets whose verdict on the item is not helpful.")
    helpful_rate: float | None = Field(None, description="helpful ÷ (helpful + not_helpful).")
    used_surveyed: int = Field(0, description="Tickets it was used on that have a survey answer.")
    used_csat_avg: float | None = Field(
        None, description="Average CSAT (1–5, the latest answer) of the tickets it was used on.")
    used_satisfaction_rate: float | None = Field(
        None, description="Share of the surveyed tickets it was used on whose customer was satisfied.")


class KnowledgeTotals(BaseModel):
    tickets_with_suggestions: int = Field(0, description="The period's tickets whose latest suggestions are not empty.")
    tickets_suggestion_used: int = Field(0, description="… of which a suggested item was used on.")
    tickets_suggestion_helpful: int = Field(0, description="… of which a suggested item was judged helpful.")
    used_share: float | None = Field(None, description="tickets_suggestion_used ÷ tickets_with_suggestions.")
    helpful_share: float | None = Field(None, description="tickets_suggestion_helpful ÷ tickets_with_suggestions.")


class KnowledgeReport(BaseModel):
    start: date
    end: date
    totals: KnowledgeTotals
    items: list[KnowledgeItemRow] = Field(
        description="Items suggested, used or judged on the period's tickets, and published items never suggested; "
                    "most suggested first.")
    cells_read: int = Field(description="Aggregate cells read (cost of the query).")


def build_knowledge_report(
    *, start: date, end: date, cells: Iterable[Mapping[str, float]], catalog: Iterable[KnowledgeItemInfo],
) -> KnowledgeReport:
    """The per-item figures of ``[start, end]`` from its ``all`` day cells and the item catalog."""
    rows = list(cells)
    total = sum_counts(rows)
    per: dict[str, dict[str, float]] = {}
    for key, value in total.items():
        name, sep, item = key.partition(":")
        if sep and value and name in KNOWLEDGE_ITEM_COUNTERS:
            per.setdefault(item, {})[name] = value
    known = {clean_key(info.item_id): info for info in catalog}
    for key, info in known.items():
        if info.status == "published":
            per.setdefault(key, {})
    items = []
    for key, c in per.items():
        info = known.get(key) or KnowledgeItemInfo(item_id=_raw(key))
        g = lambda k, c=c: c.get(k, 0)  # noqa: E731
        if not any(c.values()) and info.status != "published":
            continue
        helpful, unhelpful = int(g("kb_help")), int(g("kb_unhelp"))
        items.append(KnowledgeItemRow(
            item_id=info.item_id, kind=info.kind, title=info.title, topic=info.topic, lang=info.lang,
            status=info.status, suggested=int(g("kb_sug")), used=int(g("kb_used")), helpful=helpful,
            not_helpful=unhelpful, helpful_rate=_ratio(helpful, helpful + unhelpful),
            used_surveyed=int(g("kb_csat_n")), used_csat_avg=_ratio(g("kb_csat_sum"), g("kb_csat_n"), 2),
            used_satisfaction_rate=_ratio(g("kb_csat_sat"), g("kb_csat_n")),
        ))
    items.sort(key=lambda r: (-r.suggested, -r.used, -r.helpful, r.item_id))
    g = lambda k: total.get(k, 0)  # noqa: E731
    tickets = g("kb_tickets")
    return KnowledgeReport(
        start=start, end=end,
        totals=KnowledgeTotals(
            tickets_with_suggestions=int(tickets), tickets_suggestion_used=int(g("kb_t_used")),
            tickets_suggestion_helpful=int(g("kb_t_helpful")), used_share=_ratio(g("kb_t_used"), tickets),
            helpful_share=_ratio(g("kb_t_helpful"), tickets)),
        items=items, cells_read=len(rows),
    )


# ----------------------------------------------------------------------------- the "write an article" list
class GapRow(BaseModel):
    category: str
    module: str
    top_keywords: list[TopRow] = Field(description="The group's most frequent keywords (classifier's terms and tags).")
    tickets: int = Field(description="The period's tickets of this category and module.")
    with_suggestion: int = Field(description="… whose latest suggestions are not empty.")
    helped: int = Field(description="… on which an item was used or judged helpful.")
    without_help: int = Field(description="tickets − helped.")
    helped_share: float | None = Field(None, description="helped ÷ tickets.")


class KnowledgeGaps(BaseModel):
    start: date
    end: date
    min_tickets: int = Field(description="A problem with fewer tickets in the period is not listed.")
    groups: int = Field(description="Problems (category × module) with tickets in the period.")
    gaps: list[GapRow] = Field(
        description="Problems with at least min_tickets tickets, fewer than half of them helped by an item: "
                    "the articles to write. Most tickets without help first.")
    cells_read: int


def gap_rows(total: Mapping[str, float], keywords: int = 5) -> list[GapRow]:
    """Every problem group (category × module) of summed cells, with its figures."""
    suggested, helped_by = _prefixed(total, "kg_sug:"), _prefixed(total, "kg_help:")
    words: dict[str, dict[str, int]] = {}
    for key, n in _prefixed(total, "kg_kw:").items():
        category, module, word = key.split(":", 2)
        words.setdefault(f"{category}:{module}", {})[word] = n
    rows = []
    for group, n in _prefixed(total, "kg_n:").items():
        category, module = group.split(":", 1)
        if UNCLASSIFIED in (category, module):
            continue
        helped = helped_by.get(group, 0)
        rows.append(GapRow(
            category=category, module=module, top_keywords=_top(words.get(group, {}), keywords), tickets=n,
            with_suggestion=suggested.get(group, 0), helped=helped, without_help=n - helped,
            helped_share=_ratio(helped, n),
        ))
    return rows


def is_gap(row: GapRow, min_tickets: int) -> bool:
    return row.tickets >= min_tickets and row.helped * 2 < row.tickets


def build_gaps(*, start: date, end: date, cells: Iterable[Mapping[str, float]], min_tickets: int = 5,
               keywords: int = 5) -> KnowledgeGaps:
    """The "write an article" list of ``[start, end]`` from its ``all`` day cells."""
    rows = list(cells)
    groups = gap_rows(sum_counts(rows), keywords)
    gaps = sorted((r for r in groups if is_gap(r, min_tickets)),
                  key=lambda r: (-r.without_help, -r.tickets, r.category, r.module))
    return KnowledgeGaps(start=start, end=end, min_tickets=min_tickets, groups=len(groups), gaps=gaps,
                         cells_read=len(rows))


# ----------------------------------------------------------------------------- CSV
def _table(header: list[str], rows: Iterable[tuple[Any, ...]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(_safe_csv(tuple("" if v is None else v for v in row)))
    return out.getvalue()


def knowledge_csv(report: KnowledgeReport) -> str:
    """One row per item (the JSON's ``items``); titles are guarded against spreadsheet formulas."""
    fields = list(KnowledgeItemRow.model_fields)
    return _table(fields, (tuple(r.model_dump().values()) for r in report.items))


GAP_CSV_FIELDS = ["category", "module", "tickets", "with_suggestion", "helped", "without_help", "helped_share",
                  "top_keywords"]


def gaps_csv(report: KnowledgeGaps) -> str:
    """One row per gap; the keywords in one cell, most frequent first, separated by spaces."""
    return _table(GAP_CSV_FIELDS, (
        (r.category, r.module, r.tickets, r.with_suggestion, r.helped, r.without_help, r.helped_share,
         " ".join(t.key for t in r.top_keywords)) for r in report.gaps))
