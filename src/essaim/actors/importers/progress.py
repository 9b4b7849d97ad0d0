"""A plain progress line for the import commands (same style as ``sirene_import``: no extra library)."""

import sys


def _number(value: float) -> str:
    # French digit grouping with a narrow no-break space.
    return f"{value:,.0f}".replace(",", "\u202f")


def progress_printer(stream, *, total: int | None, verbose: bool):
    """A ``progress(rows, seconds)`` callback writing "[#####.....]  40 % — 400 / 1 000 lignes" to ``stream``
    (redrawn in place on a terminal, one line per call otherwise)."""
    interactive = getattr(sys.stderr, "isatty", lambda: False)()

    def progress(rows: int, seconds: float) -> None:
        if not verbose:
            return
        rate = rows / seconds if seconds > 0 else 0
        if total:
            done = min(rows, total)
            filled = round(30 * done / total)
            bar = "#" * filled + "." * (30 - filled)
            message = (
                f"[{bar}] {100 * done // total:3d} % — {_number(done)} / {_number(total)} lignes "
                f"— {_number(rate)} lignes/s"
            )
        else:
            message = f"{_number(rows)} lignes lues — {_number(rate)} lignes/s"
        stream.write(f"\r{message}" if interactive else message, ending="" if interactive else "\n")

    progress.interactive = interactive
    return progress


def report_lines(run) -> list[str]:
    """The French summary of a tabular or data·inclusion run, then its first rejected rows."""
    prefix = "Essai à blanc (rien n'a été écrit). " if run.dry_run else ""
    lines = [
        f"{prefix}{run.rows_read} ligne(s) lue(s) : {run.created} créée(s), {run.updated} mise(s) à jour, "
        f"{run.unchanged} inchangée(s), {run.rejected} rejetée(s), "
        f"{run.pending_changes} modification(s) à relire."
    ]
    for entry in run.rows:
        if entry["action"] == "rejected":
            lines.append(f"  ligne {entry['line']} rejetée : {' '.join(entry.get('reasons', []))}")
        for problem in entry.get("problems", []):
            lines.append(f"  ligne {entry['line']}, {problem['field']} : {problem['message']}")
        if len(lines) > 40:
            lines.append(f"  … (voir le rapport d'import n° {run.pk}).")
            break
    return lines
