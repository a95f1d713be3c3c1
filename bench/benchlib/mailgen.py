"""Deterministic, realistic MIME messages: multipart/mixed with a
multipart/alternative text/plain + text/html body and, when the size calls
for it, base64 attachments of incompressible bytes (like PDFs and images).
The same seed gives byte-identical files."""

import base64
import datetime
import email.utils
import math
import os
import random

WORDS = ("the of and to in is for on that with as by this be are from at or it an we will our your "
         "meeting report quarter budget review project schedule update customer invoice delivery "
         "server mailbox storage network release test plan team office contract attached please "
         "regards thanks tomorrow friday monday agenda notes draft final version question answer").split()
NAMES = ["Alice Martin", "Bruno Keller", "Chen Wei", "Dana Okafor", "Elena Petrova", "Farid Haddad",
         "Grace Liu", "Hugo Lambert", "Ines Duarte", "Jonas Berg"]
ATTACHMENTS = [("report.pdf", "application/pdf"), ("photo.jpg", "image/jpeg"), ("scan.png", "image/png"),
               ("data.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")]
MIN_SIZE, MAX_SIZE = 2 * 1024, 200 * 1024


def _paragraphs(rng, size):
    out, total = [], 0
    while total < size:
        sentence_count = rng.randint(2, 6)
        para = " ".join(" ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 16))).capitalize() + "."
                        for _ in range(sentence_count))
        out.append(para)
        total += len(para) + 2
    return out


def _wrap(text, width=72):
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return lines


def _base64_lines(data):
    encoded = base64.b64encode(data).decode()
    return [encoded[i:i + 76] for i in range(0, len(encoded), 76)]


def make_message(rng, index, size, to_addr):
    """One message of about `size` octets (CRLF line ends)."""
    sender = rng.choice(NAMES)
    date = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(minutes=37 * index)
    outer, alt = f"=_mixed_{index:06d}", f"=_alt_{index:06d}"
    # Small messages are all text; larger ones get attachments for the rest.
    text_budget = max(300, size - 950 if size < 6144 else min(size // 4, 16 * 1024))
    paras = _paragraphs(rng, text_budget // 2)
    headers = [
        f"Received: from mx{index % 7}.example.net (mx{index % 7}.example.net [192.0.2.{index % 250 + 1}])",
        f"\tby mail.example.test with ESMTPS id {rng.getrandbits(48):012x}",
        f"\tfor <{to_addr}>; {email.utils.format_datetime(date)}",
        f"From: {sender} <{sender.split()[0].lower()}@example.net>",
        f"To: <{to_addr}>",
        f"Subject: {' '.join(rng.choice(WORDS) for _ in range(rng.randint(3, 8))).capitalize()} #{index}",
        f"Date: {email.utils.format_datetime(date)}",
        f"Message-ID: <{index}.{rng.getrandbits(32):08x}@example.net>",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/mixed; boundary="{outer}"',
        "",
        "This is a multi-part message in MIME format.",
        f"--{outer}",
        f'Content-Type: multipart/alternative; boundary="{alt}"',
        "",
        f"--{alt}",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
        "",
    ]
    lines = list(headers)
    for p in paras:
        lines += _wrap(p) + [""]
    lines += [f"--{alt}", "Content-Type: text/html; charset=utf-8", "Content-Transfer-Encoding: 8bit", "",
              "<html><body>"]
    for p in paras:
        lines += ["<p>"] + _wrap(p) + ["</p>"]
    lines += ["</body></html>", f"--{alt}--", ""]

    used = sum(len(l) + 2 for l in lines) + len(outer) + 8
    remaining = size - used
    attachments = []
    while remaining > 1024 and len(attachments) < 3:
        part = remaining if remaining < 96 * 1024 or len(attachments) == 2 else remaining // 2
        name, ctype = rng.choice(ATTACHMENTS)
        head = [f"--{outer}", f'Content-Type: {ctype}; name="{name}"',
                f'Content-Disposition: attachment; filename="{name}"', "Content-Transfer-Encoding: base64", ""]
        head_len = sum(len(l) + 2 for l in head)
        raw = max(0, math.floor((part - head_len) * 57 / 78))
        attachments.append(head + _base64_lines(rng.randbytes(raw)))
        remaining -= head_len + sum(len(l) + 2 for l in attachments[-1][len(head):])
    for a in attachments:
        lines += a
    lines += [f"--{outer}--", ""]
    return "\r\n".join(lines).encode()


def log_uniform_size(rng, low=MIN_SIZE, high=MAX_SIZE):
    return int(math.exp(rng.uniform(math.log(low), math.log(high))))


def write_corpus(directory, count, seed, to_addr, size=None, size_range=(MIN_SIZE, MAX_SIZE)):
    """Writes count messages as 000001.eml, ...; returns (paths, total octets).

    Sizes are log-uniform in size_range (2 KB to 200 KB) unless `size` is given."""
    os.makedirs(directory, exist_ok=True)
    rng = random.Random(seed)
    paths, total = [], 0
    for i in range(1, count + 1):
        data = make_message(rng, i, size or log_uniform_size(rng, *size_range), to_addr)
        path = os.path.join(directory, f"{i:06d}.eml")
        with open(path, "wb") as f:
            f.write(data)
        paths.append(path)
        total += len(data)
    return paths, total


def write_mbox(path, messages):
    """The messages (files) as one mbox file, as imaptest's `mbox=` reads it:
    LF line ends, a `From ` separator line before each, body lines that start
    with `From ` quoted as `>From ` (mboxrd)."""
    with open(path, "wb") as out:
        for m in messages:
            with open(m, "rb") as f:
                lines = f.read().replace(b"\r\n", b"\n").split(b"\n")
            out.write(b"From bench@example.test Mon Jan  1 00:00:00 2024\n")
            for line in lines:
                out.write((b">" + line if line.lstrip(b">").startswith(b"From ") else line) + b"\n")
            out.write(b"\n")
