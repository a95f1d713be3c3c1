"""The search group's corpus: one large folder of realistic mail, the same
bytes for a given seed and size, written once to a cache directory and reused.

What is in it (docs/benchmarks.md, "Search, sort and thread"):
- languages: English 50%, German 15% (umlauts, ß), French 10% (accents),
  Russian 10% (KOI8-R or UTF-8), Japanese 8% (ISO-2022-JP or UTF-8), Chinese 7%
  (GB2312); messages in other languages carry some English words (product
  names, code-switching), so English words also reach the servers in KOI8-R,
  ISO-2022-JP and GB2312 bodies;
- structure: text/plain alone, multipart/alternative (text/plain + text/html),
  text/html alone; some multipart/mixed with base64 attachments (PDF, JPEG,
  PNG, DOCX bytes: magic number then random bytes; names in RFC 2231 or RFC
  2047 form) or a text/calendar invitation; a few large ones (0.2-2.5 MB);
- transfer encodings: 7bit, 8bit, quoted-printable, base64; subjects and
  display names in RFC 2047 words (B and Q) in the body's charset;
- threads: Message-ID, In-Reply-To, References chains (trimmed as clients
  do), "Re:"/"AW:"/"RE :"/"Re[2]:"/"回复："/"Fwd:"/"WG:" subjects, list tags,
  top-posted replies quoting their parent, inline forwards, a few replies
  without References or to a message not in the folder;
- dates over 2019-2025 in the senders' time zones, a few without Date;
- words drawn from a Zipf distribution (rank r with weight 1/(r + 2.7)) over a
  vocabulary per language that grows with the corpus (Heaps' law), so there
  are words in a handful of messages and words in a third of them.

Queries with known answers (manifest.json, "queries"): a rare word (in about
5 messages), a common word (in about 30%), both chosen after generation among
English words of 8+ letters that never appear in a header and are not part of
any other token of the corpus (so substring search, as IMAP defines it, and
word or n-gram search, as full-text indexes do it, agree); and a phrase of
three words found nowhere else, planted on one line of the new text of a known
set of messages (quotes and forwards leave its line out, so no other message
holds it). The manifest lists the 1-based positions in the corpus of the
messages that hold each; message-ids.txt maps a server's message back to its
position.

Cache: $XDG_CACHE_HOME/postern-bench/search-corpus-v{VERSION}-seed{seed}-{count}
(messages/000001.eml ..., CRLF line ends; message-ids.txt, one Message-ID
per message in corpus order; manifest.json). It is written under a .partial
name and renamed when complete, so an interrupted run leaves no corpus behind
that a later one would take."""

import base64
import binascii
import datetime
import html
import json
import os
import random
import re
import shutil
import time
import unicodedata
import zlib
from array import array
from collections import Counter, deque

from .util import BenchError, log

VERSION = 1  # bump on any change to the generator: cached corpora of another version are not reused
PHRASE = "zephyrine quorvalis tambrelle"
RARE_TARGET = 5  # messages holding the rare word
COMMON_TARGET = 0.30  # share of messages holding the common word
QUERY_MIN_LENGTH = 8  # shorter words turn up by chance in random base64 text
ZIPF_Q = 2.7
START = datetime.datetime(2019, 1, 1, tzinfo=datetime.timezone.utc)
SPAN = datetime.timedelta(days=6 * 365 + 180)
TOKEN = re.compile(r"[^\W\d_]+")

# --- languages -------------------------------------------------------------------------

# in Zipf order; "tomorrow", "contract" and "customer" (8 letters, body-only) sit where the common
# query word's share of messages comes out near 30%
EN_HEAD = """the of and to in is for on that with as by this be are from at or it an we will our your you have
not can all tomorrow please thanks would could should about next week today time also just need know let me
contract if there they them some more been has was were which when what new like make get see look work call
send sent check meeting report project schedule update customer invoice delivery server release team office
attached friday monday agenda notes draft final version question answer budget review quarter plan test
document feedback proposal deadline estimate requirements timeline payment shipment""".split()
DE_HEAD = """und der die das ist nicht ein eine zu den mit für von sich auf wir ich Sie bitte danke über können
müssen würde Bericht Besprechung Termin Rechnung Angebot Änderung Prüfung Größe Straße Grüße Lösung Projekt
nächste Woche heute morgen schon noch auch aber oder wenn dass Unterlagen Vertrag Kunde Lieferung Frage
Rückmeldung gemäß Entwurf""".split()
FR_HEAD = """le la les de des et à un une pour dans est pas que qui sur avec vous nous réunion été déjà très reçu
problème journée prochaine semaine merci bien projet rapport budget équipe client livraison facture contrat
version question réponse demain sûr où ça français début fenêtre hôtel tâche œuvre cœur""".split()
RU_HEAD = """и в не на что с по это как мы вы я для от до все уже еще встреча проект бюджет письмо спасибо договор
сервер отчёт счёт клиент поставка вопрос ответ завтра сегодня неделе пожалуйста файл версия изменения сроки
работа команда""".split()
JA_HEAD = """です ます の を に は が と で 会議 資料 確認 お願い します 報告 予算 担当 来週 今日 明日 件 について 対応
検討 変更 連絡 送付 添付 ファイル プロジェクト スケジュール 顧客 契約 請求書 納品""".split()
ZH_HEAD = """的 是 我们 会议 报告 预算 项目 请 确认 谢谢 附件 时间 客户 合同 发票 交付 问题 回复 明天 今天 下周 安排
负责 修改 版本 计划 进度 文件 邮件 通知""".split()

KANJI = ("会議資料確認報告予算担当来週今日明日時間場所連絡内容検討変更対応作成提出承認依頼案件営業開発技術部長課"
         "社員顧客契約請求納品見積発注計画進捗問題解決結果説明設計運用管理情報共有準備手配予定調整回答質問注意事項期限完了")
HIRAGANA = "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわん"
KATAKANA = "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワンー"
HANZI = ("的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后小么心多"
         "天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分将外但"
         "身些与高意进把法此实回二理美点月明其种声全工己话者向情部正名定女问力机给等几很业最间新什打便位因重被走电四第"
         "门相次东政海口使教西再平真听世气信北少关并内加化由却代产入先山五太水万市眼体别处总才场师书比住员九笑性通目华"
         "报立马命张活难神数件安表原车白应路期叫常提感金何更反合放做系计或司利受光王果亲界及今京务制解各任至清物台象记"
         "边共风干接它许八特觉望直服林题建南度统色字请交爱让认算论百义科怎元社术结六功指思非流每青管夫连远资队跟带花快"
         "条院变联言权往展该领传近留红治决周保达办运半候七必城父强步完深区即求品士转量空众技轻程告江语英基派满式息写识")

SYLLABLES = {
    "en": ("b bl br c ch cl cr d dr f fl fr g gl gr h j k l m n p pl pr qu r s sc sh sk sl sm sn sp st str t th tr v "
           "w wh z".split(), "a e i o u ai ea ee io oa ou".split(),
           ["", "", "", "n", "r", "s", "l", "t", "nd", "nt", "st", "m", "ck", "x", "ll", "rk"]),
    "de": ("b br d dr f fr g gr h k kl kr l m n p pf r s sch schl schw st str t tr w z".split(),
           "a e i o u ä ö ü ie ei au eu".split(), ["", "", "n", "r", "s", "l", "t", "ng", "cht", "tz", "ß", "nd"]),
    "fr": ("b c ch d f g j l m n p pl pr qu r s t tr v".split(),
           "a e i o u é è ê â ô û ou oi eau".split(), ["", "", "", "n", "r", "s", "l", "t", "x"]),
    "ru": ("б в г д ж з к л м н п р с т ф х ц ч ш щ бр гр др кр пр ст тр".split(),
           "а е и о у ы э ю я ё".split(), ["", "", "н", "р", "с", "т", "й", "ль", "ть", "ск"]),
}

# (name, address); display names outside ASCII go out as RFC 2047 words
PEOPLE = {
    "en": [("Alice Martin", "alice.martin@northwind.example"), ("Bob Johnson", "bjohnson@contoso.example"),
           ("Carol Smith", "carol@fabrikam.example"), ("David Brown", "d.brown@northwind.example"),
           ("Emily Davis", "emily.davis@tailspin.example"), ("Frank Miller", "frank@contoso.example"),
           ("Grace Wilson", "gwilson@litware.example"), ("Henry Moore", "henry.moore@fabrikam.example"),
           ("Isabel Taylor", "isabel@tailspin.example"), ("Jack Anderson", "jack.anderson@litware.example")],
    "de": [("Jürgen Müller", "juergen.mueller@firma.example"), ("Björn Schäfer", "b.schaefer@werk.example"),
           ("Günther Köhler", "koehler@firma.example"), ("Sabine Weiß", "sabine.weiss@werk.example"),
           ("Anja Schröder", "anja@handel.example"), ("Thomas Becker", "t.becker@handel.example")],
    "fr": [("François Lefèvre", "francois.lefevre@societe.example"), ("Hélène Dubois", "hdubois@atelier.example"),
           ("Jérôme Girard", "jerome@societe.example"), ("Amélie Rousseau", "amelie.rousseau@atelier.example"),
           ("Céline Moreau", "celine@bureau.example")],
    "ru": [("Иван Петров", "ivan.petrov@kompania.example"), ("Ольга Смирнова", "o.smirnova@zavod.example"),
           ("Сергей Кузнецов", "kuznetsov@kompania.example"), ("Наталья Иванова", "natalia@zavod.example"),
           ("Алексей Попов", "a.popov@torg.example")],
    "ja": [("田中 太郎", "tanaka@kaisha.example"), ("佐藤 花子", "hanako.sato@shoji.example"),
           ("鈴木 一郎", "suzuki@kaisha.example"), ("高橋 美咲", "m.takahashi@shoji.example"),
           ("渡辺 健", "watanabe@kogyo.example")],
    "zh": [("王伟", "wangwei@gongsi.example"), ("李娜", "lina@maoyi.example"), ("张敏", "zhangmin@gongsi.example"),
           ("刘洋", "liuyang@keji.example"), ("陈静", "chenjing@maoyi.example")],
}
ME = ("Sam Rivera", "search@example.test")

TEXTS = {  # greetings, sign-offs, "X wrote:", reply prefixes, forward prefixes, time zones (hours)
    "en": (["Hi {first},", "Hello {first},", "Dear {first},", "Good morning {first},", "{first},"],
           ["Best regards,", "Thanks,", "Cheers,", "Kind regards,"], "On {date}, {name} <{addr}> wrote:",
           ["Re: ", "Re: ", "Re: ", "RE: ", "Re: Re: ", "Re[2]: "], ["Fwd: ", "FW: "], [-8, -5, 0, 1]),
    "de": (["Hallo {first},", "Guten Tag {first},", "Sehr geehrte Damen und Herren,", "Liebe Grüße vorab, {first},"],
           ["Viele Grüße", "Mit freundlichen Grüßen", "Beste Grüße"], "Am {date} schrieb {name} <{addr}>:",
           ["AW: ", "AW: ", "Re: ", "AW: AW: "], ["WG: ", "Fwd: "], [1, 2]),
    "fr": (["Bonjour {first},", "Cher {first},", "Bonsoir,", "Madame, Monsieur,"],
           ["Cordialement,", "Bien à vous,", "Merci d'avance,"], "Le {date}, {name} <{addr}> a écrit :",
           ["RE : ", "Re: ", "RE : "], ["TR : ", "Fwd: "], [1, 2]),
    "ru": (["Здравствуйте, {first}!", "Добрый день, {first}!", "Привет, {first}!"],
           ["С уважением,", "Спасибо,", "Всего доброго,"], "{date}, {name} <{addr}> пишет:",
           ["Re: ", "RE: "], ["Fwd: "], [3]),
    "ja": (["{last}様", "{last}さん", "お疲れ様です。"], ["よろしくお願いいたします。", "以上、よろしくお願いします。"],
           "{date} {name} <{addr}>:", ["Re: ", "RE: "], ["Fw: ", "Fwd: "], [9]),
    "zh": (["{name}，您好！", "各位同事：", "{name}你好，"], ["谢谢！", "此致敬礼", "祝好！"], "{name} <{addr}> 于 {date} 写道：",
           ["回复：", "Re: ", "答复: "], ["转发：", "Fwd: "], [8]),
}

# charset, transfer encoding of text/plain, of text/html, weight
ENCODINGS = {
    "en": [("us-ascii", "7bit", "quoted-printable", 60), ("utf-8", "quoted-printable", "quoted-printable", 25),
           ("utf-8", "base64", "base64", 10), ("utf-8", "8bit", "8bit", 5)],
    "de": [("utf-8", "quoted-printable", "quoted-printable", 50), ("iso-8859-1", "quoted-printable", "quoted-printable", 25),
           ("utf-8", "8bit", "8bit", 15), ("utf-8", "base64", "base64", 10)],
    "fr": [("utf-8", "quoted-printable", "quoted-printable", 45), ("iso-8859-15", "quoted-printable", "quoted-printable", 30),
           ("utf-8", "8bit", "8bit", 15), ("utf-8", "base64", "base64", 10)],
    "ru": [("koi8-r", "8bit", "base64", 30), ("koi8-r", "base64", "base64", 20), ("utf-8", "base64", "base64", 35),
           ("utf-8", "quoted-printable", "quoted-printable", 15)],
    "ja": [("iso-2022-jp", "7bit", "7bit", 50), ("utf-8", "base64", "base64", 50)],
    "zh": [("gb2312", "base64", "base64", 60), ("gb2312", "8bit", "8bit", 40)],
}
CODEC = {"us-ascii": "ascii", "utf-8": "utf-8", "iso-8859-1": "latin-1", "iso-8859-15": "iso8859_15",
         "koi8-r": "koi8_r", "iso-2022-jp": "iso2022_jp", "gb2312": "gb2312"}
UTF8_SPRINKLES = ["it’s", "we’re", "café", "résumé", "naïve", "— as agreed —", "€1,200", "“final”"]

ATTACHMENTS = [  # content type, magic bytes, file names (some outside ASCII)
    ("application/pdf", b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n", ["invoice_2023-04.pdf", "Rechnung Nr. 4711.pdf", "contrat signé.pdf",
                                                          "отчёт.pdf", "見積書.pdf", "报告.pdf", "scan0042.pdf"]),
    ("image/jpeg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01", ["IMG_2041.jpg", "photo.jpg", "Baustelle März.jpg"]),
    ("image/png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", ["screenshot.png", "diagram.png", "図1.png"]),
    ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", b"PK\x03\x04\x14\x00\x06\x00",
     ["proposal_v3.docx", "Präsentation Q3.docx", "compte rendu.docx"]),
]
MAILERS = ["Microsoft Outlook 16.0", "Apple Mail (2.3731.700.6)", "Mozilla Thunderbird 115.6.0",
           "Roundcube Webmail/1.6.5", "Evolution 3.46.4", "Foxmail 7.2.25", "Becky! ver. 2.81.04"]
LISTS = ["team-dev", "sales", "ops-alerts", "board"]


def _encodable(text, charset):
    try:
        text.encode(CODEC[charset])
        return True
    except UnicodeEncodeError:
        return False


class Language:
    """A vocabulary in Zipf order with its cumulative weights, and the texts
    and encodings messages in this language use."""

    def __init__(self, code, size, rng):
        self.code = code
        self.cjk = code in ("ja", "zh")
        self.width = 36 if self.cjk else 72
        head = {"en": EN_HEAD, "de": DE_HEAD, "fr": FR_HEAD, "ru": RU_HEAD, "ja": JA_HEAD, "zh": ZH_HEAD}[code]
        words, seen = list(dict.fromkeys(head)), set(w.casefold() for w in head)
        seen.add(PHRASE)
        tail = []
        while len(words) + len(tail) < size:
            w = self._pseudo_word(rng)
            if w.casefold() not in seen and w.casefold() not in PHRASE.split():
                seen.add(w.casefold())
                tail.append(w)
        # the more frequent a word, the shorter it tends to be (Zipf's law of abbreviation)
        keyed = sorted((len(w) + rng.uniform(0, 5), i) for i, w in enumerate(tail))
        self.words = words + [tail[i] for _, i in keyed]
        total, self.cum = 0.0, []
        for rank in range(len(self.words)):
            total += 1.0 / (rank + ZIPF_Q)
            self.cum.append(total)
        (self.greetings, self.signoffs, self.wrote, self.reply_prefixes, self.fwd_prefixes,
         self.zones) = TEXTS[code]
        self.people = PEOPLE[code]
        self.encodings = ENCODINGS[code]

    def _pseudo_word(self, rng):
        if self.code == "ja":
            kind = rng.random()
            if kind < 0.55:
                return "".join(rng.choice(KANJI) for _ in range(2))
            if kind < 0.85:
                return "".join(rng.choice(KATAKANA[:-1]) for _ in range(rng.randint(3, 5))) + rng.choice(["", "ー"])
            return "".join(rng.choice(HIRAGANA) for _ in range(rng.randint(2, 3)))
        if self.code == "zh":
            return "".join(rng.choice(HANZI) for _ in range(rng.choice((1, 2, 2, 2, 3))))
        onsets, nuclei, codas = SYLLABLES[self.code]
        # syllables per word, and frequent words shorter (above): running text comes out near
        # natural word lengths (English about 5 letters a word, German 6), which matters to
        # indexes whose cost grows with the n-grams of a word
        n = rng.choices((1, 2, 3, 4), {"en": (35, 45, 17, 3), "fr": (30, 45, 20, 5)}.get(self.code, (15, 45, 30, 10)))[0]
        word = "".join(rng.choice(onsets) + rng.choice(nuclei) + rng.choice(codas) for _ in range(n))
        if self.code == "de" and rng.random() < 0.3:
            word = word.capitalize()
        return word

    def draw(self, rng, k):
        return rng.choices(self.words, cum_weights=self.cum, k=k)


def body_only(word):
    """A quarter of the words never appear in a header (subjects, names of
    files), so that a BODY search for one of them has one right answer."""
    return zlib.crc32(word.casefold().encode()) % 4 == 1


# --- text ------------------------------------------------------------------------------

class Text:
    """A message's own text as lines, wrapped for its language."""

    def __init__(self, lang):
        self.lang = lang
        self.lines = []

    def paragraph(self, units):
        """units: [(separator before, word)]; wrapped without splitting a unit."""
        line = ""
        for sep, unit in units:
            if line and len(line) + len(sep) + len(unit) > self.lang.width:
                self.lines.append(line)
                line = unit.lstrip()
            else:
                line = line + sep + unit if line else unit.lstrip()
        if line:
            self.lines.append(line)
        self.lines.append("")


def _sentence(lang, english, rng, sprinkle):
    n = rng.randint(4, 10) if lang.cjk else rng.randint(5, 16)
    words = lang.draw(rng, n)
    if lang.code != "en" and rng.random() < 0.25:
        for _ in range(rng.randint(1, 2)):
            words.insert(rng.randrange(len(words) + 1), " " + english.draw(rng, 1)[0] + " ")
    if sprinkle and rng.random() < 0.08:
        words.insert(rng.randrange(len(words) + 1), rng.choice(UTF8_SPRINKLES))
    units = []
    if lang.cjk:
        for i, w in enumerate(words):
            if i and rng.random() < 0.12:
                units.append(("", "、" if lang.code == "ja" else "，"))
            units.append(("", w))
        units.append(("", "。"))
        return units
    for i, w in enumerate(words):
        w = w.strip()
        if i == 0:
            w = w[:1].upper() + w[1:]
        elif rng.random() < 0.07:
            units[-1] = (units[-1][0], units[-1][1] + ",")
        units.append((" ", w))
    units[-1] = (units[-1][0], units[-1][1] + rng.choices((".", "?", "!"), (87, 10, 3))[0])
    return units


def _paragraphs(text, lang, english, rng, size, sprinkle, phrase):
    """About `size` characters of paragraphs; the phrase, when asked, as one
    unit (so on one line) in the first paragraph, with spaces around it even
    between CJK words."""
    written = 0
    first = True
    while written < size:
        units = []
        for _ in range(rng.randint(2, 6)):
            units += _sentence(lang, english, rng, sprinkle)
        if first and phrase:
            units.insert(rng.randrange(1, len(units)), ("", f" {PHRASE} ") if lang.cjk else (" ", PHRASE))
        first = False
        before = len(text.lines)
        text.paragraph(units)
        written += sum(len(l) + 1 for l in text.lines[before:])


# --- headers ---------------------------------------------------------------------------

def _encoded_words(text, charset, mode):
    """RFC 2047 words of at most 75 characters, for a header value."""
    codec = CODEC[charset]
    words, start = [], 0
    while start < len(text):
        end = len(text)
        while True:
            chunk = text[start:end]
            raw = chunk.encode(codec)
            if mode == "B":
                payload = base64.b64encode(raw).decode()
            else:
                payload = "".join(chr(b) if (48 <= b <= 57 or 65 <= b <= 90 or 97 <= b <= 122) else
                                  "_" if b == 32 else f"={b:02X}" for b in raw)
            word = f"=?{charset.upper()}?{mode}?{payload}?="
            if len(word) <= 75 or end - start == 1:
                break
            end = start + max(1, (end - start) * 3 // 4)
        words.append(word)
        start = end
    return words


def _header_text(text, charset, mode):
    """The text as it is if ASCII, else as RFC 2047 words in charset (UTF-8 if
    charset cannot hold it), folded onto continuation lines."""
    if text.isascii():
        return text
    if charset in ("us-ascii",) or not _encodable(text, charset):
        charset = "utf-8"
    return "\n ".join(_encoded_words(text, charset, mode))


def _subject_header(prefix, base, charset, mode):
    # an ASCII prefix stays outside the encoded words, as clients write it
    if (prefix + base).isascii():
        return prefix + base
    ascii_prefix = prefix if prefix.isascii() else ""
    rest = base if prefix.isascii() else prefix + base
    return ascii_prefix + _header_text(rest, charset, mode)


def _mailbox(person, charset, mode):
    name, addr = person
    if name.isascii():
        return f"{name} <{addr}>"
    return f"{_header_text(name, charset, mode)} <{addr}>"


def _fold(name, items):
    """`Name: a b c`, folded before an item where a line would pass 78 characters."""
    lines, line = [], f"{name}:"
    for item in items:
        if len(line) + 1 + len(item) > 78 and line != f"{name}:":
            lines.append(line)
            line = " " + item
        else:
            line += " " + item
    lines.append(line)
    return "\n".join(lines)


def _message_id(rng, date):
    style = rng.random()
    if style < 0.35:
        chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+_-="
        return "<CA" + "".join(rng.choice(chars) for _ in range(44)) + "@mail.gmail.example>"
    if style < 0.6:
        return (f"<{''.join(rng.choice('ABCDEFGHJKLMNPQRSTUVWXYZ0123456789') for _ in range(24))}"
                f"@AM{rng.randint(0, 9)}PR{rng.randint(10, 99)}MB{rng.randint(1000, 9999)}.eurprd0{rng.randint(1, 9)}"
                ".prod.outlook.example>")
    if style < 0.8:
        return (f"<{rng.getrandbits(32):08X}-{rng.getrandbits(16):04X}-{rng.getrandbits(16):04X}-"
                f"{rng.getrandbits(16):04X}-{rng.getrandbits(48):012X}@icloud.example>")
    return f"<{date.strftime('%Y%m%d%H%M%S')}.{rng.getrandbits(40):010x}@{rng.choice(['mx1', 'mail', 'smtp'])}.example.net>"


def _date_header(date, zone_hours, rng):
    local = date.astimezone(datetime.timezone(datetime.timedelta(hours=zone_hours)))
    text = local.strftime("%d %b %Y %H:%M:%S %z")
    if text[0] == "0" and rng.random() < 0.5:
        text = text[1:]
    return text if rng.random() < 0.1 else local.strftime("%a, ") + text


# --- bodies ----------------------------------------------------------------------------

def _encode_body(text, charset, cte):
    """Body bytes (LF line ends) in charset with transfer encoding cte."""
    raw = text.encode(CODEC[charset])
    if cte == "base64":
        b = base64.b64encode(raw)
        return b"\n".join(b[i:i + 76] for i in range(0, len(b), 76))
    if cte == "quoted-printable":
        return binascii.b2a_qp(raw, quotetabs=False, istext=True)
    return raw


def _html(text_lines, quoted, charset):
    out = [f'<html><head><meta http-equiv="Content-Type" content="text/html; charset={charset}"></head>',
           '<body><div style="font-family: Calibri, Arial, sans-serif; font-size: 11pt">']
    para = []
    for line in text_lines + [""]:
        if line:
            para.append(html.escape(line, quote=False))
        elif para:
            out.append("<p>" + "<br>\n".join(para) + "</p>")
            para = []
    if quoted:
        out.append('<blockquote style="margin: 0 0 0 .8ex; border-left: 1px solid #ccc; padding-left: 1ex">')
        out.append("<br>\n".join(html.escape(l, quote=False) for l in quoted))
        out.append("</blockquote>")
    out.append("</div></body></html>")
    return "\n".join(out)


MARKUP = _html(["x"], ["y"], "utf-8") + " ".join(m for m in MAILERS) + " ".join(LISTS)


def _text_part(text, charset, cte, subtype="plain"):
    head = f"Content-Type: text/{subtype}; charset={charset}\nContent-Transfer-Encoding: {cte}\n\n"
    return head.encode() + _encode_body(text, charset, cte)


def _attachment(rng, size, lang_charset):
    ctype, magic, names = rng.choice(ATTACHMENTS)
    name = rng.choice(names)
    data = magic + rng.randbytes(max(0, size - len(magic)))
    b = base64.b64encode(data)
    body = b"\n".join(b[i:i + 76] for i in range(0, len(b), 76))
    if name.isascii():
        disp = f'Content-Type: {ctype}; name="{name}"\nContent-Disposition: attachment; filename="{name}"'
    elif rng.random() < 0.5:
        # RFC 2231, with the RFC 2047 name= that older clients read
        pct = "".join(c if c.isalnum() and c.isascii() or c in "._-" else "".join(f"%{b:02X}" for b in c.encode())
                      for c in name)
        disp = (f'Content-Type: {ctype};\n name="{_header_text(name, "utf-8", "B")}"\n'
                f"Content-Disposition: attachment;\n filename*=UTF-8''{pct}")
    else:
        enc = _header_text(name, lang_charset if _encodable(name, lang_charset) else "utf-8", "B")
        disp = f'Content-Type: {ctype};\n name="{enc}"\nContent-Disposition: attachment;\n filename="{enc}"'
    return (disp + "\nContent-Transfer-Encoding: base64\n\n").encode() + body, len(data)


def _calendar(rng, summary, date):
    start = date + datetime.timedelta(days=rng.randint(1, 20), hours=rng.randint(0, 6))
    lines = ["BEGIN:VCALENDAR", "PRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN", "VERSION:2.0",
             "METHOD:REQUEST", "BEGIN:VEVENT", f"UID:{rng.getrandbits(64):016x}@calendar.example",
             f"DTSTART:{start.strftime('%Y%m%dT%H%M%SZ')}",
             f"DTEND:{(start + datetime.timedelta(hours=1)).strftime('%Y%m%dT%H%M%SZ')}",
             f"SUMMARY:{summary}", "LOCATION:Room 4.12", "END:VEVENT", "END:VCALENDAR", ""]
    text = "\n".join(lines)
    head = ('Content-Type: text/calendar; charset=utf-8; method=REQUEST; name="invite.ics"\n'
            "Content-Disposition: attachment; filename=\"invite.ics\"\nContent-Transfer-Encoding: base64\n\n")
    b = base64.b64encode(text.encode())
    return head.encode() + b"\n".join(b[i:i + 76] for i in range(0, len(b), 76)), text


def _multipart(subtype, boundary, parts, preamble=True):
    out = [f'Content-Type: multipart/{subtype};\n boundary="{boundary}"\n\n'.encode()]
    if preamble:
        out.append(b"This is a multi-part message in MIME format.\n")
    for p in parts:
        out.append(f"\n--{boundary}\n".encode())
        out.append(p)
    out.append(f"\n--{boundary}--\n".encode())
    return b"".join(out)


def _boundary(rng):
    style = rng.randrange(3)
    if style == 0:
        return f"----=_Part_{rng.randint(1000, 99999)}_{rng.getrandbits(32)}.{rng.getrandbits(40)}"
    if style == 1:
        return f"Apple-Mail={rng.getrandbits(32):08X}-{rng.getrandbits(16):04X}-{rng.getrandbits(48):012X}"
    return f"=_{rng.getrandbits(64):016x}"


# --- the corpus ------------------------------------------------------------------------

class Generator:
    def __init__(self, count, seed):
        self.count = count
        self.rng = random.Random(seed)
        vocab_rng = random.Random(seed * 1000003 + 17)
        weights = {"en": 50, "de": 15, "fr": 10, "ru": 10, "ja": 8, "zh": 7}
        self.lang_weights = weights
        # Heaps' law: the vocabulary grows with the corpus
        self.langs = {code: Language(code, int(2000 + (6 if code == "en" else 3) * count * w / 100 + 3000 * (code == "en")),
                                     vocab_rng) for code, w in weights.items()}
        self.english = self.langs["en"]
        planted = max(8, count // 400)
        self.planted = set(random.Random(seed + 99).sample(range(count), min(planted, count)))
        self.threads = deque(maxlen=400)  # recent threads: lists of message records
        self.texts = {}  # message index -> its own text lines (recent ones only)
        self.msgids = set()
        self.stats = Counter()

    def _person(self, lang):
        return self.rng.choice(lang.people)

    def _subject(self, lang):
        n = self.rng.randint(2, 5) if lang.cjk else self.rng.randint(3, 8)
        words = [w for w in lang.draw(self.rng, n * 3) if not body_only(w)][:n]
        if lang.cjk:
            return "".join(words)
        s = " ".join(words)
        return s[:1].upper() + s[1:]

    def message(self, i):
        rng = self.rng
        base_date = START + SPAN * (i / self.count) + datetime.timedelta(seconds=rng.randint(-7200, 7200))
        kind = rng.random()
        parent = None
        if kind < 0.55 and self.threads:
            thread = self.threads[-1 - min(len(self.threads) - 1, int(rng.expovariate(1 / 15)))]
            parent = thread[-1] if rng.random() < 0.7 else rng.choice(thread)
            mode = "reply"
        elif kind < 0.60 and self.texts:
            parent_index = rng.choice(list(self.texts))
            parent = self.texts[parent_index]["record"]
            mode = "forward"
        else:
            mode = "new"
            thread = []
        lang = self.langs[parent["lang"]] if parent and rng.random() < 0.9 else \
            self.langs[rng.choices(list(self.lang_weights), list(self.lang_weights.values()))[0]]
        charset, cte_plain, cte_html, _ = rng.choices(lang.encodings, [e[3] for e in lang.encodings])[0]
        sender = self._person(lang) if rng.random() < 0.93 else ME
        date = base_date if not parent else max(base_date, parent["date"] + datetime.timedelta(
            seconds=60 + rng.expovariate(1 / 7200)))

        # subject and references
        list_tag = ""
        if mode == "new":
            base = self._subject(lang)
            if rng.random() < 0.08:
                list_tag = f"[{rng.choice(LISTS)}] "
            prefix = ""
            refs, in_reply_to = [], None
            if rng.random() < 0.01:  # a reply to a message this folder never got
                prefix = rng.choice(lang.reply_prefixes)
                in_reply_to = _message_id(rng, date - datetime.timedelta(days=1))
                refs = [in_reply_to]
        elif mode == "reply":
            base, list_tag = parent["base"], parent["list_tag"]
            prefix = rng.choice(lang.reply_prefixes)
            in_reply_to = parent["msgid"]
            refs = parent["refs"] + [parent["msgid"]]
            if len(refs) > 10:
                refs = refs[:1] + refs[-9:]
            if rng.random() < 0.03:  # old clients: In-Reply-To only
                refs = []
        else:
            base, list_tag = parent["base"], ""
            prefix = rng.choice(lang.fwd_prefixes)
            refs, in_reply_to = [], None
        msgid = _message_id(rng, date)
        while msgid in self.msgids:
            msgid = _message_id(rng, date)
        self.msgids.add(msgid)

        # the text
        text = Text(lang)
        to = parent["sender"] if parent and mode == "reply" and parent["sender"] != sender else ME
        name = to[0]
        first, last = (name.split()[0], name.split()[-1]) if " " in name else (name, name)
        text.lines += [rng.choice(lang.greetings).format(first=first, last=last, name=name), ""]
        size = int(2 ** rng.uniform(8.5, 12.6))  # 360 B to 6 KB of new text
        sprinkle = charset == "utf-8" and lang.code == "en"
        _paragraphs(text, lang, self.english, rng, size, sprinkle, i in self.planted)
        text.lines += [rng.choice(lang.signoffs), sender[0], ""]
        if rng.random() < 0.4:
            text.lines += ["-- ", f"{sender[0]} | {sender[1]}", f"+{rng.randint(1, 99)} {rng.randint(100, 999)} "
                                                                  f"{rng.randint(100000, 9999999)}", ""]
        own = [l for l in text.lines if PHRASE not in l]
        quoted = []
        if parent and i - parent["index"] < 5000 and parent["index"] in self.texts:
            p_lines = self.texts[parent["index"]]["lines"]
            if mode == "reply":
                quoted = [lang.wrote.format(date=parent["date_header"], name=parent["sender"][0],
                                            addr=parent["sender"][1])]
                quoted += [("> " + l) if l else ">" for l in p_lines[:rng.randint(5, 40)]]
            else:
                quoted = ["---------- Forwarded message ---------", f"From: {parent['sender'][0]} <{parent['sender'][1]}>",
                          f"Date: {parent['date_header']}", f"Subject: {parent['subject']}", f"To: {ME[0]} <{ME[1]}>", ""]
                quoted += p_lines[:60]
        if not _encodable("\n".join(text.lines + quoted), charset):
            charset = "utf-8" if charset != "us-ascii" else "utf-8"
            if cte_plain == "7bit":
                cte_plain = "quoted-printable"
            if cte_html == "7bit":
                cte_html = "quoted-printable"
        plain_text = "\n".join(text.lines + quoted) + "\n"

        # the MIME structure
        shape = rng.random()
        html_text = _html(text.lines, quoted, charset)
        if shape < 0.35:
            body = _text_part(plain_text, charset, cte_plain)
            self.stats["text/plain"] += 1
        elif shape < 0.95:
            body = _multipart("alternative", _boundary(rng),
                              [_text_part(plain_text, charset, cte_plain),
                               _text_part(html_text, charset, cte_html, "html")], preamble=False)
            self.stats["multipart/alternative"] += 1
        else:
            body = _text_part(html_text, charset, cte_html, "html")
            self.stats["text/html"] += 1
        extra_tokens = ""
        attach = rng.random()
        if attach < 0.13:
            parts = [body]
            if attach < 0.006:  # a few large ones: 0.2 to 1.6 MB
                sizes = [int(2 ** rng.uniform(17.6, 20.6))]
                self.stats["large attachment"] += 1
            elif attach < 0.016:
                cal, extra_tokens = _calendar(rng, self._subject(lang), date)
                parts.append(cal)
                sizes = []
                self.stats["calendar invitation"] += 1
            else:
                sizes = [int(2 ** rng.uniform(11.5, 14.8)) for _ in range(rng.choice((1, 1, 1, 2)))]
            for s in sizes:
                part, _ = _attachment(rng, s, charset)
                parts.append(part)
                self.stats["attachments"] += 1
            body = _multipart("mixed", _boundary(rng), parts)
            self.stats["multipart/mixed"] += 1

        # the header
        mode_2047 = "B" if lang.code in ("ru", "ja", "zh") or rng.random() < 0.3 else "Q"
        subject = _subject_header(list_tag + prefix, base, charset, mode_2047)
        mx = rng.randint(1, 9)
        hdr = [f"Received: from mail{mx}.{sender[1].split('@')[1]} (mail{mx}.{sender[1].split('@')[1]} "
               f"[198.51.100.{rng.randint(1, 254)}])\n\tby mx.example.test (Postfix) with ESMTPS id "
               f"{rng.getrandbits(40):010X}\n\tfor <{ME[1]}>; {_date_header(date, 0, rng)}"]
        if rng.random() < 0.4:
            sig = base64.b64encode(rng.randbytes(256)).decode()
            hdr.append(_fold("DKIM-Signature", [f"v=1; a=rsa-sha256; c=relaxed/relaxed; d={sender[1].split('@')[1]};",
                                                "s=selector1; h=from:to:subject:date:message-id;",
                                                f"bh={base64.b64encode(rng.randbytes(32)).decode()};",
                                                "b=" + sig[:60]] + [sig[k:k + 70] for k in range(60, len(sig), 70)]))
        hdr.append("From: " + _mailbox(sender, charset, mode_2047))
        hdr.append("To: " + _mailbox(to if to != sender else ME, charset, mode_2047))
        if rng.random() < 0.25:
            cc = rng.sample(lang.people, min(2, len(lang.people)))
            hdr.append(_fold("Cc", [_mailbox(p, charset, mode_2047) + "," for p in cc])[:-1])
        hdr.append("Subject: " + subject)
        date_header = _date_header(date, rng.choice(lang.zones), rng)
        if rng.random() >= 0.003:
            hdr.append("Date: " + date_header)
            self.stats["with Date"] += 1
        hdr.append("Message-ID: " + msgid)
        if in_reply_to:
            hdr.append("In-Reply-To: " + in_reply_to)
        if refs:
            hdr.append(_fold("References", refs))
        if list_tag:
            tag = list_tag.strip("[] ")
            hdr.append(f"List-Id: {tag} <{tag}.lists.example.test>")
        hdr.append(("X-Mailer: " if rng.random() < 0.5 else "User-Agent: ") + rng.choice(MAILERS))
        hdr.append("MIME-Version: 1.0")
        data = ("\n".join(hdr) + "\n").encode() + body
        data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")

        record = {"index": i, "msgid": msgid, "refs": refs, "date": date, "date_header": date_header,
                  "sender": sender, "lang": lang.code, "base": base, "list_tag": list_tag,
                  "subject": list_tag + prefix + base}
        if mode == "new":
            thread = [record]
            self.threads.append(thread)
        elif mode == "reply":
            thread.append(record)
        else:
            self.threads.append([record])
        self.texts[i] = {"lines": own, "record": record}
        if len(self.texts) > 3000:
            del self.texts[min(self.texts)]
        self.stats[f"lang {lang.code} {charset}"] += 1
        self.stats[mode] += 1
        # the text a BODY search looks in (plain text; HTML holds the same words), and other text
        # of the message whose words a substring could hit
        return data, plain_text, extra_tokens, msgid


def _unaccented(token):
    return "".join(c for c in unicodedata.normalize("NFKD", token) if not unicodedata.combining(c))


def generate(directory, count, seed):
    """Writes the corpus into directory/messages and returns the manifest."""
    g = Generator(count, seed)
    messages = os.path.join(directory, "messages")
    os.makedirs(messages)
    english = {w.casefold() for w in g.english.words}
    candidates = {w for w in english if len(w) >= QUERY_MIN_LENGTH and w.isascii() and w.isalpha() and body_only(w)}
    holders = {}  # candidate word -> the 1-based positions of the messages whose text holds it
    tokens = set()
    phrase_in, sizes, total, msgids = [], [], 0, []
    # words outside the text proper (file names, HTML markup, calendar parts) are never query words
    names = " ".join(n for _, _, ns in ATTACHMENTS for n in ns) + " " + MARKUP
    fixed = set(TOKEN.findall(names.casefold()))
    for i in range(count):
        data, text, extra, msgid = g.message(i)
        msgids.append(msgid)
        with open(os.path.join(messages, f"{i + 1:06d}.eml"), "wb") as f:
            f.write(data)
        sizes.append(len(data))
        total += len(data)
        folded = text.casefold()
        words = set(TOKEN.findall(folded))
        if extra:
            fixed.update(TOKEN.findall(extra.casefold()))
        tokens |= words
        for w in words & candidates:
            positions = holders.get(w)
            if positions is None:
                positions = holders[w] = array("I")
            positions.append(i + 1)
        if PHRASE in folded:
            phrase_in.append(i + 1)
    if sorted(phrase_in) != sorted(j + 1 for j in g.planted):
        raise BenchError(f"corpus: the phrase is in {len(phrase_in)} messages, planted in {len(g.planted)}")
    tokens |= fixed
    variants = tokens | {_unaccented(t) for t in tokens}
    joined = "\n" + "\n".join(sorted(variants)) + "\n"

    def alone(word):
        """The word occurs in the corpus only as a whole token of its own."""
        return joined.count(word) == 1

    for w in PHRASE.split():
        if not alone(w):
            raise BenchError(f"corpus: the phrase's word {w!r} occurs inside another word")

    def pick(target):
        for w in sorted(holders, key=lambda w: (abs(len(holders[w]) - target), zlib.crc32(w.encode()))):
            if w not in fixed and alone(w):
                return w
        raise BenchError(f"corpus: no query word with about {target} messages")

    with open(os.path.join(directory, "message-ids.txt"), "w") as f:
        f.write("\n".join(msgids) + "\n")
    rare = pick(RARE_TARGET)
    common = pick(COMMON_TARGET * count)
    sizes.sort()
    manifest = {
        "version": VERSION, "seed": seed, "count": count, "bytes": total,
        "sizes": {"median": sizes[count // 2], "p90": sizes[count * 9 // 10], "max": sizes[-1],
                  "over_100k": sum(1 for s in sizes if s > 100_000)},
        "stats": dict(sorted(g.stats.items())),
        "queries": {
            "rare": {"word": rare, "messages": len(holders[rare]), "positions": list(holders[rare])},
            "common": {"word": common, "messages": len(holders[common]), "positions": list(holders[common])},
            "phrase": {"text": PHRASE, "messages": len(phrase_in), "positions": sorted(phrase_in)},
        },
    }
    return manifest


def cache_dir(count, seed):
    root = os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "postern-bench")
    return os.path.join(root, f"search-corpus-v{VERSION}-seed{seed}-{count}")


def load(count, seed):
    """(message directory, manifest, Message-IDs in corpus order) of the
    corpus, generated on first use."""
    final = cache_dir(count, seed)
    manifest_path = os.path.join(final, "manifest.json")
    if not os.path.exists(manifest_path):
        generate_into(final, count, seed)
    with open(manifest_path) as f:
        manifest = json.load(f)
    with open(os.path.join(final, "message-ids.txt")) as f:
        msgids = f.read().split()
    return os.path.join(final, "messages"), manifest, msgids


def generate_into(final, count, seed):
    """generate() into final, through a .partial directory renamed when done."""
    partial = final + ".partial"
    shutil.rmtree(partial, ignore_errors=True)
    shutil.rmtree(final, ignore_errors=True)
    os.makedirs(partial)
    t = time.monotonic()
    log(f"search corpus: generating {count} messages (seed {seed}) into {final}")
    manifest = generate(partial, count, seed)
    manifest["generated_in_s"] = round(time.monotonic() - t, 1)
    with open(os.path.join(partial, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    os.rename(partial, final)
