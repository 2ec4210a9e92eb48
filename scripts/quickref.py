"""docs/QUICKREF.md -> out/quickref.html -> out/quickref.pdf: the field card, one A4 page, ID | EN columns.

    python scripts/quickref.py [--out DIR]        (make quickref)

Markdown (the `markdown` package, pinned in requirements.txt, with md_in_html for the two-column block) to
HTML with print CSS, then Debian's chromium prints it (`--print-to-pdf`, A4 from the CSS @page rule).
"""
import argparse
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

import markdown

ROOT = pathlib.Path(__file__).resolve().parents[1]

CSS = """
@page { size: A4; margin: 6mm 8mm; }
html { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; font-size: 7.4pt; line-height: 1.13;
       color: #000; }
body { margin: 0; }
h1 { font-size: 12pt; margin: 0 0 2mm; border-bottom: 1.2pt solid #000; padding-bottom: 1mm; }
h2 { font-size: 9.5pt; margin: 2mm 0 .8mm; }
h3 { font-size: 9.5pt; margin: 0 0 1mm; background: #000; color: #fff; padding: .4mm 1.5mm; }
p { margin: 0 0 1mm; }
.cols { display: grid; grid-template-columns: 1fr 1fr; column-gap: 5mm; }
.col { border: .6pt solid #999; padding: 1.5mm 2mm; }
table { border-collapse: collapse; width: 100%; }
th, td { border: .5pt solid #888; padding: .2mm 1mm; text-align: left; vertical-align: top; }
th:first-child, td:first-child { width: 36%; }
table { table-layout: fixed; }
th { background: #e6e6e6; }
tr { break-inside: avoid; }
"""


def render_html(md_text: str) -> str:
    body = markdown.markdown(md_text, extensions=["tables", "md_in_html"])
    return ('<!DOCTYPE html><html lang="id"><head><meta charset="utf-8"><title>Kartu Ringkas Radio HT</title>'
            "<style>%s</style></head><body>%s</body></html>\n" % (CSS, body))


def chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        sys.exit("chromium not found: run `make sysdeps` (Debian package chromium)")
    return exe


def print_pdf(html_path: pathlib.Path, pdf_path: pathlib.Path) -> None:
    with tempfile.TemporaryDirectory(prefix="ht-chromium-") as profile:
        # --no-sandbox: CI containers run as root, where chromium's sandbox cannot start
        subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                        "--disable-dev-shm-usage", "--user-data-dir=" + profile, "--no-pdf-header-footer",
                        "--print-to-pdf=%s" % pdf_path, html_path.resolve().as_uri()],
                       check=True, capture_output=True, timeout=120)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "out"), help="folder for quickref.html and quickref.pdf")
    args = ap.parse_args(argv)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    html = out / "quickref.html"
    html.write_text(render_html((ROOT / "docs" / "QUICKREF.md").read_text(encoding="utf-8")), encoding="utf-8")
    pdf = out / "quickref.pdf"
    print_pdf(html, pdf)
    print("wrote %s and %s" % (os.path.relpath(html), os.path.relpath(pdf)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
