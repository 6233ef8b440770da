"""PDF rendering of HTML with WeasyPrint: the one module that imports it."""

from __future__ import annotations


class PdfRenderError(RuntimeError):
    """WeasyPrint could not render the document; retrying the same input will not help."""


def html_to_pdf(html: str) -> bytes:
    """The PDF of ``html`` (A4, fonts from the system); raises PdfRenderError."""
    # Imported here: WeasyPrint loads Pango on import, which the API processes never need.
    from weasyprint import HTML

    try:
        pdf = HTML(string=html).write_pdf()
    except Exception as exc:  # WeasyPrint raises many kinds; the caller needs one
        raise PdfRenderError(f"WeasyPrint failed: {exc}") from exc
    if not pdf:
        raise PdfRenderError("WeasyPrint returned an empty document")
    return bytes(pdf)
