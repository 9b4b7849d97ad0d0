"""The synthesis of a consultation, built from the database, and its exports (Markdown, XLSX, PDF).

Only anonymous material leaves here: counts, post-it texts and group proposals, never who wrote or voted.
"""

import io
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Prefetch
from django.utils import timezone
from django.utils.formats import date_format
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font

from essaim.actors.exports import neutralize_formula
from essaim.workshops.models import Comment, Consultation, Item, ItemStatus, Proposal, Tag


@dataclass
class SynthesisRow:
    number: int
    item: Item
    green_online: int
    green_paper: int
    red_online: int
    red_paper: int
    parent_number: int | None = None
    comments: list[Comment] = field(default_factory=list)
    proposals: list[Proposal] = field(default_factory=list)

    @property
    def title(self) -> str:
        return self.item.title

    @property
    def green(self) -> int:
        return self.green_online + self.green_paper

    @property
    def red(self) -> int:
        return self.red_online + self.red_paper


@dataclass
class Synthesis:
    consultation: Consultation
    prepared: list[SynthesisRow]
    proposed: list[SynthesisRow]
    groups: list  # WorkingGroup with .proposal_list
    themes: list[tuple[str, int]]

    @property
    def rows(self) -> list[SynthesisRow]:
        return self.prepared + self.proposed

    @property
    def has_paper(self) -> bool:
        return any(row.green_paper or row.red_paper for row in self.rows)


def _sorted(rows: list[SynthesisRow]) -> list[SynthesisRow]:
    # Most green dots first; ties keep the facilitator's order (that is how the seed's table reads).
    return sorted(rows, key=lambda row: (-row.green, row.item.order, row.item.pk))


def synthesis_build(consultation: Consultation) -> Synthesis:
    """The synthesis of ``consultation`` as it stands: accepted items with their green/red dots (online and
    paper), visible comments, group proposals and themes. A handful of queries whatever the size."""
    items = list(
        consultation.items.filter(status=ItemStatus.ACCEPTED)
        .with_totals()
        .prefetch_related(
            Prefetch("comments", queryset=Comment.objects.visible().order_by("order", "created_at", "pk"))
        )
        .in_order()
    )
    numbers = {item.pk: index for index, item in enumerate(items, start=1)}
    proposals_by_item = defaultdict(list)
    groups = list(
        consultation.groups.prefetch_related(
            Prefetch("proposals", queryset=Proposal.objects.prefetch_related("items", "tags"))
        ).order_by("number")
    )
    for group in groups:
        group.proposal_list = list(group.proposals.all())
        for proposal in group.proposal_list:
            proposal.group_label = group.label
            for item in proposal.items.all():
                proposals_by_item[item.pk].append(proposal)
    rows = [
        SynthesisRow(
            number=numbers[item.pk],
            item=item,
            green_online=item.green_online,
            green_paper=item.green_paper,
            red_online=item.red_online,
            red_paper=item.red_paper,
            parent_number=numbers.get(item.parent_id),
            comments=list(item.comments.all()),
            proposals=proposals_by_item[item.pk],
        )
        for item in items
    ]
    themes = list(
        Tag.objects.filter(proposals__group__consultation=consultation)
        .annotate(n=Count("proposals", distinct=True))
        .order_by("-n", "name")
        .values_list("name", "n")
    )
    return Synthesis(
        consultation=consultation,
        prepared=_sorted([r for r in rows if not r.item.proposed_in_room]),
        proposed=_sorted([r for r in rows if r.item.proposed_in_room]),
        groups=groups,
        themes=themes,
    )


def _held_on(consultation: Consultation) -> str:
    return date_format(consultation.held_on, "j F Y") if consultation.held_on else ""


def _count(total: int, online: int, paper: int) -> str:
    return f"{total} ({online} en ligne, {paper} papier)" if online and paper else str(total)


# --- Markdown -----------------------------------------------------------------------------------------


def _md(text: str) -> str:
    """Escape what Markdown would read as markup in a table cell or a list item."""
    for char in "\\`*_[]|<>#":
        text = text.replace(char, "\\" + char)
    return " ".join(text.split())


def synthesis_markdown(synthesis: Synthesis) -> str:
    consultation = synthesis.consultation
    lines = [f"# {_md(consultation.title)}", ""]
    if consultation.held_on:
        lines += [f"Rencontre du {_held_on(consultation)}.", ""]
    lines += ["## Tableau synthétique des résultats", ""]
    lines += ["| N° | Besoin | Gommettes vertes | Gommettes rouges |", "|---:|---|---:|---:|"]
    for section, rows in (("", synthesis.prepared), ("Proposés pendant la rencontre", synthesis.proposed)):
        if section and rows:
            lines.append(f"| | **{section}** | | |")
        for row in rows:
            title = _md(row.title) + (f" (rattaché au n°{row.parent_number})" if row.parent_number else "")
            lines.append(
                f"| {row.number} | {title} | {_count(row.green, row.green_online, row.green_paper)} "
                f"| {_count(row.red, row.red_online, row.red_paper)} |"
            )
    lines += ["", "## Annexe 1 — Commentaires des participants", ""]
    for row in synthesis.rows:
        if row.comments:
            lines += [f"### {row.number}. {_md(row.title)}", ""]
            lines += [f"- {_md(c.text)} *({c.get_category_display().lower()})*" for c in row.comments]
            lines.append("")
    lines += ["## Annexe 2 — Propositions des groupes", ""]
    for group in synthesis.groups:
        lines += [f"### {_md(group.label)}", ""]
        for proposal in group.proposal_list:
            text_lines = [line for line in proposal.text.splitlines() if line.strip()]
            extra = []
            numbers = [str(r.number) for r in synthesis.rows if proposal in r.proposals]
            if numbers:
                extra.append("besoins " + ", ".join(numbers))
            tags = [t.name for t in proposal.tags.all()]
            if tags:
                extra.append(", ".join(tags))
            suffix = f" *({' ; '.join(_md(e) for e in extra)})*" if extra else ""
            lines.append(f"- {_md(text_lines[0])}{suffix}")
            lines += [f"  - {_md(line)}" for line in text_lines[1:]]
        lines.append("")
    if synthesis.themes:
        lines += ["## Thèmes les plus forts", ""]
        lines += [f"- {_md(name)} : {n} proposition{'s' if n > 1 else ''}" for name, n in synthesis.themes]
        lines.append("")
    return "\n".join(lines)


# --- XLSX ---------------------------------------------------------------------------------------------


def _cell(value):
    value = neutralize_formula(value)
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


def synthesis_xlsx(synthesis: Synthesis) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Synthèse"
    sheet.append(
        [
            "N°",
            "Besoin",
            "Origine",
            "Rattaché au n°",
            "Vertes",
            "dont en ligne",
            "dont papier",
            "Rouges",
            "dont en ligne",
            "dont papier",
        ]
    )
    for row in synthesis.rows:
        sheet.append(
            [
                _cell(v)
                for v in (
                    row.number,
                    row.title,
                    "proposé pendant la rencontre" if row.item.proposed_in_room else "identifié en amont",
                    row.parent_number,
                    row.green,
                    row.green_online,
                    row.green_paper,
                    row.red,
                    row.red_online,
                    row.red_paper,
                )
            ]
        )
    comments = workbook.create_sheet("Commentaires")
    comments.append(["N°", "Besoin", "Catégorie", "Commentaire"])
    for row in synthesis.rows:
        for comment in row.comments:
            comments.append(
                [_cell(v) for v in (row.number, row.title, comment.get_category_display(), comment.text)]
            )
    proposals = workbook.create_sheet("Propositions")
    proposals.append(["Groupe", "Proposition", "Besoins", "Thèmes"])
    for group in synthesis.groups:
        for proposal in group.proposal_list:
            numbers = ", ".join(str(r.number) for r in synthesis.rows if proposal in r.proposals)
            tags = ", ".join(t.name for t in proposal.tags.all())
            proposals.append([_cell(v) for v in (group.label, proposal.text, numbers, tags)])
    themes = workbook.create_sheet("Thèmes")
    themes.append(["Thème", "Propositions"])
    for name, n in synthesis.themes:
        themes.append([_cell(name), n])
    for ws in workbook.worksheets:
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for column in ws.iter_cols(min_row=2):
            for cell in column:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- PDF ----------------------------------------------------------------------------------------------


def synthesis_pdf(synthesis: Synthesis) -> bytes:
    """A printable report laid out like the seed's "compte rendu": results table, then the annexes."""
    from xml.sax.saxutils import escape

    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import cm
    from reportlab.platypus import ListFlowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    consultation = synthesis.consultation
    styles = getSampleStyleSheet()
    body, small = styles["BodyText"], styles["BodyText"].clone("small", fontSize=9, leading=11)
    story = [Paragraph(escape(consultation.title), styles["Title"])]
    if consultation.held_on:
        story.append(
            Paragraph(f"Compte rendu de la rencontre du {escape(_held_on(consultation))}", styles["Heading3"])
        )
    if consultation.description:
        story.append(Paragraph(escape(consultation.description), body))
    story += [Spacer(1, 0.4 * cm), Paragraph("Tableau synthétique des résultats", styles["Heading2"])]

    data = [["N°", "Besoin", "Gommettes vertes", "Gommettes rouges"]]
    section_rows = []
    for label, rows in (("", synthesis.prepared), ("Proposés pendant la rencontre", synthesis.proposed)):
        if label and rows:
            section_rows.append(len(data))
            data.append(["", Paragraph(f"<b>{escape(label)}</b>", small), "", ""])
        for row in rows:
            title = escape(row.title) + (
                f" <i>(rattaché au n°{row.parent_number})</i>" if row.parent_number else ""
            )
            data.append(
                [
                    str(row.number),
                    Paragraph(title, small),
                    _count(row.green, row.green_online, row.green_paper),
                    _count(row.red, row.red_online, row.red_paper),
                ]
            )
    table = Table(data, colWidths=[1.2 * cm, 9.3 * cm, 3.2 * cm, 3.2 * cm], repeatRows=1)
    style = [
        ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e7f2ee")),
        ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("ALIGN", (2, 1), (-1, -1), "CENTER"),
    ]
    style += [("SPAN", (1, r), (-1, r)) for r in section_rows]
    table.setStyle(TableStyle(style))
    story.append(table)

    if synthesis.themes:
        story += [Spacer(1, 0.4 * cm), Paragraph("Thèmes les plus forts", styles["Heading2"])]
        story.append(
            ListFlowable(
                [
                    Paragraph(f"{escape(name)} : {n} proposition{'s' if n > 1 else ''}", body)
                    for name, n in synthesis.themes
                ],
                bulletType="bullet",
            )
        )

    story += [Spacer(1, 0.6 * cm), Paragraph("Annexe 1 — Expression des participants", styles["Heading2"])]
    for row in synthesis.rows:
        if row.comments:
            story.append(Paragraph(f"{row.number}/ {escape(row.title)}", styles["Heading4"]))
            story.append(
                ListFlowable([Paragraph(escape(c.text), body) for c in row.comments], bulletType="bullet")
            )

    story += [Spacer(1, 0.6 * cm), Paragraph("Annexe 2 — Propositions des groupes", styles["Heading2"])]
    for group in synthesis.groups:
        story.append(Paragraph(escape(group.label), styles["Heading4"]))
        entries = []
        for proposal in group.proposal_list:
            lines = [escape(line.strip()) for line in proposal.text.splitlines() if line.strip()]
            entries.append(Paragraph("<br/>— ".join(lines), body))
        if entries:
            story.append(ListFlowable(entries, bulletType="bullet"))

    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=consultation.title,
        author="Essaim",
        leftMargin=2 * cm,
        rightMargin=2 * cm,
        topMargin=2 * cm,
        bottomMargin=2 * cm,
    )
    document.build(story)
    return buffer.getvalue()


def export_filename(consultation: Consultation, extension: str) -> str:
    return f"synthese-{consultation.slug}-{timezone.localdate():%Y-%m-%d}.{extension}"
