"""How well off-the-shelf solvers read Vericode's captchas.

`python scripts/bench/ocr.py [--control DIR2 --count N] [--sheet SHEET] DIR`: DIR
holds captchas named NNN-ANSWER.png (the captcha bench writes them). Each solver reads every image; the script
prints, per solver, how many answers it read whole and what share of the
characters it got (aligned, so one missed character costs one). Every solver
is told the alphabet where it can be, as an attacker who read our docs would.
With --sheet it also writes a contact sheet of the first 24 captchas with
their answers underneath, for a person to judge legibility. With --control
it first fills DIR2 with N captchas from Python's `captcha` package (same
size and alphabet) and runs the solvers over those too: a solver that reads
none of ours but most of those is working.

Solvers: tesseract (Debian's tesseract-ocr, page modes 7 and 8, alphabet
whitelisted), ddddocr (a CNN/CTC captcha model shipped in its wheel; its
current and its older "beta" model) and RapidOCR (PaddleOCR's detection and
recognition models, ONNX, shipped in its wheel).
"""

import difflib
import os
import subprocess
import sys

ALPHABET = "ACDEFHJKMNPRTUVWXY349"


def tesseract(path):
    for psm in ("7", "8"):
        read = subprocess.run(
            ["tesseract", path, "-", "--psm", psm, "-c", f"tessedit_char_whitelist={ALPHABET}"],
            capture_output=True, text=True, check=False,
        ).stdout
        read = "".join(read.split())
        if read:
            return read
    return ""


def ddddocr_solver(beta):
    import ddddocr
    import numpy as np

    ocr = ddddocr.DdddOcr(show_ad=False, beta=beta)

    def solve(path):
        with open(path, "rb") as f:
            result = ocr.classification(f.read(), probability=True)
        # Best path over the blank and our alphabet only (either case), as an
        # attacker who knows the alphabet would decode, CTC-collapsed.
        charset = result["charset"]
        allowed = [i for i, c in enumerate(charset) if i == 0 or (c and c.upper() in ALPHABET)]
        steps = np.array(result["probabilities"]).reshape(-1, len(charset))[:, allowed]
        out, last = [], None
        for best in steps.argmax(axis=1):
            if best != last and allowed[best] != 0:
                out.append(charset[allowed[best]])
            last = best
        return "".join(out)

    return solve


def rapidocr_solver():
    from rapidocr_onnxruntime import RapidOCR

    engine = RapidOCR()

    def solve(path):
        result, _ = engine(path)
        return "".join(text for _, text, _ in (result or []))

    return solve


def clean(read):
    return "".join(c for c in read.upper() if c in ALPHABET)


def contact_sheet(files, out):
    from PIL import Image, ImageDraw, ImageFont

    images = [Image.open(f).convert("RGB") for f in files[:24]]
    w, h = images[0].size
    cols, label = 4, 22
    sheet = Image.new("RGB", (cols * (w + 10) + 10, 6 * (h + label + 10) + 10), "white")
    draw = ImageDraw.Draw(sheet)
    try:
        font = ImageFont.truetype("DejaVuSansMono.ttf", 16)
    except OSError:
        font = ImageFont.load_default()
    for i, (image, f) in enumerate(zip(images, files)):
        x, y = 10 + (i % cols) * (w + 10), 10 + (i // cols) * (h + label + 10)
        sheet.paste(image, (x, y))
        draw.text((x, y + h + 2), answer_of(f), fill="black", font=font)
    sheet.save(out, optimize=True)


def answer_of(path):
    return os.path.basename(path)[:-4].split("-", 1)[1]


def python_captchas(directory, count):
    import secrets

    from captcha.image import ImageCaptcha

    generator = ImageCaptcha(width=240, height=80)
    for i in range(count):
        answer = "".join(secrets.choice(ALPHABET) for _ in range(4 + secrets.randbelow(3)))
        generator.write(answer, os.path.join(directory, f"{i:03}-{answer}.png"))


def pngs(directory):
    return sorted(os.path.join(directory, f) for f in os.listdir(directory) if f.endswith(".png"))


def score(solvers, files, label):
    print(f"{label}: {len(files)} captchas")
    print(f"  {'solver':<14} {'whole':>13} {'characters':>11}")
    best = 0.0
    for name, solve in solvers:
        whole = chars = total = 0
        for f in files:
            answer, read = answer_of(f), clean(solve(f))
            whole += read == answer
            blocks = difflib.SequenceMatcher(None, answer, read).get_matching_blocks()
            chars += sum(b.size for b in blocks)
            total += len(answer)
        best = max(best, whole / len(files))
        print(f"  {name:<14} {whole:>5} ({100 * whole / len(files):4.1f}%) {100 * chars / total:>10.1f}%")
    return best


def main():
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("dir")
    parser.add_argument("--sheet")
    parser.add_argument("--control")
    parser.add_argument("--count", type=int, default=200)
    args = parser.parse_args()
    files = pngs(args.dir)
    if args.sheet:
        contact_sheet(files, args.sheet)
        print(f"contact sheet: {args.sheet}")
    solvers = [("tesseract", tesseract), ("ddddocr", ddddocr_solver(False)),
               ("ddddocr beta", ddddocr_solver(True)), ("rapidocr", rapidocr_solver())]
    if args.control:
        python_captchas(args.control, args.count)
        score(solvers, pngs(args.control), "control: Python captcha (ImageCaptcha, 240x80)")
    best = score(solvers, files, "Vericode")
    print(f"best solver on Vericode: {100 * best:.1f}% whole (goal: at most 2%)")


if __name__ == "__main__":
    main()
