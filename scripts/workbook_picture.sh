#!/usr/bin/env bash
# The first page of a workbook as a PNG, the way docs/img/returned_workbook.png was made:
# LibreOffice (headless) prints the workbook to PDF, pdftoppm renders the first page.
# Needs the Debian packages libreoffice-calc, poppler-utils and fonts-noto-cjk.
# Usage: bash scripts/workbook_picture.sh WORKBOOK.xlsx OUT.png
set -euo pipefail
workbook="$(realpath "$1")"
out="$(realpath -m "$2")"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
soffice --headless -env:UserInstallation="file://$scratch/profile" \
  --convert-to pdf --outdir "$scratch" "$workbook" >/dev/null
pdftoppm -png -r 110 -f 1 -l 1 -singlefile "$scratch/$(basename "${workbook%.*}").pdf" "${out%.png}"
echo "$out"
