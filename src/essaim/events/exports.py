"""Downloads of an event's report: CSV, XLSX (openpyxl) and PDF (reportlab), and the attendance sheet PDF."""

import csv
import io
from xml.sax.saxutils import escape

from django.utils import timezone
from openpyxl import Workbook
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from essaim.actors.exports import neutralize_formula
from essaim.events.models import Event, Registration
from essaim.events.reports import Report, report_rows

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF_CONTENT_TYPE = "application/pdf"


def report_csv(report: Report) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    for row in report_rows(report):
        writer.writerow([neutralize_formula(value) for value in row])
    # The byte order mark makes spreadsheets read the file as UTF-8.
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def report_xlsx(report: Report) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Bilan"
    for row in report_rows(report):
        sheet.append([neutralize_formula(value) for value in row])
    sheet.column_dimensions["A"].width = 50
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _capfirst(text: str) -> str:
    return text[:1].upper() + text[1:]


def _styles():
    styles = getSampleStyleSheet()
    return styles["Title"], styles["Normal"], styles["Heading2"]


def _footer(canvas, doc):
    canvas.saveState()
    canvas.setFont("Helvetica", 8)
    canvas.drawRightString(A4[0] - 15 * mm, 10 * mm, f"Page {doc.page}")
    canvas.restoreState()


def _table(rows: list[list], widths, *, header_rows: int = 1, row_heights=None) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=header_rows, rowHeights=row_heights)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, header_rows - 1), "Helvetica-Bold"),
                ("BACKGROUND", (0, 0), (-1, header_rows - 1), colors.HexColor("#e8e8e8")),
                ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    return table


def report_pdf(report: Report) -> bytes:
    title, normal, heading = _styles()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, title=report.title, leftMargin=15 * mm, rightMargin=15 * mm)
    story = [Paragraph(escape(report.title), title)]
    figures = [
        ["Inscrits", report.registered],
        ["Présents", report.present],
        ["dont venus sans inscription", report.walk_ins],
        ["Absents / excusés", f"{report.absent} / {report.excused}"],
        ["Élus présents", report.elected_present],
        ["Structures représentées", report.structures_count],
        ["Partenaires représentés", report.partners_count],
    ]
    story += [_table([["Chiffre", "Valeur"], *figures], [110 * mm, 60 * mm]), Spacer(1, 6 * mm)]
    if report.categories:
        story.append(Paragraph("Par catégorie", heading))
        rows = [["Catégorie", "Inscrits", "Présents"]]
        rows += [[Paragraph(escape(c.label), normal), c.registered, c.present] for c in report.categories]
        story += [_table(rows, [110 * mm, 30 * mm, 30 * mm]), Spacer(1, 6 * mm)]
    if len(report.per_event) > 1:
        story.append(Paragraph("Par événement", heading))
        rows = [["Événement", "Inscrits", "Présents"]]
        rows += [[Paragraph(escape(e.title), normal), r, p] for e, r, p in report.per_event]
        story += [_table(rows, [110 * mm, 30 * mm, 30 * mm]), Spacer(1, 6 * mm)]
    if report.questions:
        story.append(Paragraph("Réponses aux questions d'inscription (personnes inscrites)", heading))
        for line in report.questions:
            rows = [[Paragraph(f"<b>{escape(line.label)}</b>", normal), "Nombre"]]
            rows += [
                [Paragraph(escape(option[:1].upper() + option[1:]), normal), n] for option, n in line.counts
            ]
            rows.append(["Total des réponses", line.answered])
            story += [_table(rows, [140 * mm, 30 * mm]), Spacer(1, 4 * mm)]
    if report.epcis:
        story.append(Paragraph("Territoires des présents (EPCI)", heading))
        rows = [["EPCI", "Présents"], *([Paragraph(escape(name), normal), n] for name, n in report.epcis)]
        story += [_table(rows, [140 * mm, 30 * mm]), Spacer(1, 6 * mm)]
    for label, names in (
        ("Structures représentées", report.structures),
        ("Partenaires représentés", report.partners),
    ):
        if names:
            story.append(Paragraph(label, heading))
            story.append(Paragraph(escape(", ".join(names)), normal))
    if report.narrative:
        story.append(Paragraph("Bilan", heading))
        for paragraph in report.narrative.split("\n\n"):
            story.append(Paragraph(escape(paragraph).replace("\n", "<br/>"), normal))
    doc.build(story, onFirstPage=_footer, onLaterPages=_footer)
    return buffer.getvalue()


def attendance_sheet_pdf(event: Event, registrations: list[Registration]) -> bytes:
    """The "feuille d'émargement": one line per person (sorted by name), a signature column, the table
    header repeated on every page, page numbers."""
    title, normal, _ = _styles()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=f"Feuille d'émargement — {event.title}",
        leftMargin=12 * mm,
        rightMargin=12 * mm,
    )
    when = timezone.localtime(event.start).strftime("%d/%m/%Y %H:%M")
    where = ", ".join(p for p in (event.place_name, event.commune.name if event.commune_id else "") if p)
    story = [
        Paragraph(f"Feuille d'émargement — {escape(event.title)}", title),
        Paragraph(escape(f"{when}{' — ' + where if where else ''}"), normal),
        Spacer(1, 5 * mm),
    ]
    rows = [["Nom et prénom", "Structure", "Catégorie", "Signature"]]
    for registration in registrations:
        rows.append(
            [
                Paragraph(escape(registration.full_name), normal),
                Paragraph(escape(registration.structure_display), normal),
                Paragraph(escape(registration.category.label if registration.category_id else ""), normal),
                "",
            ]
        )
    # Signature cells need room for a hand-written signature.
    heights = [None] + [13 * mm] * (len(rows) - 1)
    table = _table(rows, [52 * mm, 52 * mm, 36 * mm, 46 * mm], row_heights=heights)
    story.append(table)
    doc.build(story, onFirstPage=_footer, onLaterPages=_footer)
    return buffer.getvalue()
