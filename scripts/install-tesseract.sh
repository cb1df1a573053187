#!/usr/bin/env bash
# Installs Debian's tesseract-ocr for bench/captcha_ocr.py only: the floor of
# what an off-the-shelf OCR reads of the image captcha. Nothing else uses it.
set -euo pipefail
if command -v tesseract >/dev/null 2>&1; then exit 0; fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
if command -v apt-get >/dev/null 2>&1; then
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    tesseract-ocr tesseract-ocr-eng
else
  echo "tesseract is missing and apt-get is not available: install tesseract-ocr" >&2
  exit 1
fi
