"""What fits in a message, per channel: SMS encoding and segments, field limits, copy models.

SMS: a text that only uses the GSM-7 alphabet (3GPP TS 23.038: basic table plus the extension
table, whose characters `^ { } \\ [ ~ ] | €` and form feed take two septets each) fits 160 septets
in one message, 153 per part when split. One character outside GSM-7 (a typographic apostrophe,
an emoji, a Polish "ł") turns the whole text into UCS-2: 70 UTF-16 units in one message, 67 per
part, and a character outside the Basic Multilingual Plane (most emoji) takes two units. A split
never cuts an escape pair or a surrogate pair, so parts may carry one unit less.

Merge fields such as `{{first_name}}` are filled at send time, so they are counted at a reserved
width (MERGE_FIELD_WIDTH); the sending platform shortens longer values to that width.

Push limits are the conservative common ground of the platforms: iOS shows about 40 characters
of a title on the lock screen before truncating and about 150-178 of the body over four lines;
Android shows about 40 of a title in a collapsed notification (65 expanded) and truncates the
body near 240 expanded. Title 40 and body 150 are therefore visible in full on both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = "\f^{}\\[~]|€"
_BASIC = frozenset(GSM7_BASIC)
_EXTENSION = frozenset(GSM7_EXTENSION)

# Typographic characters that needlessly switch an SMS to UCS-2, and their GSM-7 stand-ins.
GSM7_SUBSTITUTES = {
    "’": "'", "‘": "'", "‚": "'", "“": '"', "”": '"', "„": '"', "«": '"', "»": '"',
    "–": "-", "—": "-", "‑": "-", "…": "...", "\u00a0": " ", "\u202f": " ", "•": "-",
}

SMS_SINGLE = {"GSM-7": 160, "UCS-2": 70}
SMS_PART = {"GSM-7": 153, "UCS-2": 67}

MERGE_FIELDS = ("first_name", "city")           # the only personal fields copy may contain
# What the sending platform fills in an email footer: the unsubscribe link, the sender's name
# and postal address (no personal data; required by ePrivacy/GDPR practice and CAN-SPAM).
LEGAL_MERGE_FIELDS = ("unsubscribe_url", "sender_name", "sender_address")
MERGE_FIELD_WIDTH = {"first_name": 12, "city": 16, "unsubscribe_url": 60, "sender_name": 30,
                     "sender_address": 80}
MERGE_FIELD_RE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")

Channel = Literal["email", "sms", "push", "in_app"]
CHANNELS: tuple[str, ...] = ("email", "sms", "push", "in_app")

# Most characters per field (SMS text is measured in GSM-7 septets / UCS-2 units instead).
LIMITS: dict[str, dict[str, int]] = {
    "email": {"subject": 60, "preheader": 100, "body": 2000, "cta": 30},
    "sms": {"text": 160},
    "push": {"title": 40, "body": 150},
    "in_app": {"title": 50, "body": 240, "cta": 24},
}
# Where a channel's legal text (disclosures, opt-out) belongs.
DISCLOSURE_FIELD = {"email": "body", "sms": "text", "push": "body", "in_app": "body"}
HEADLINE_FIELD = {"email": "subject", "sms": "text", "push": "title", "in_app": "title"}


def expand_merge_fields(text: str) -> str:
    """`text` with each merge field replaced by a placeholder of its reserved width."""
    return MERGE_FIELD_RE.sub(lambda m: "x" * MERGE_FIELD_WIDTH.get(m[1], len(m[0])), text)


def to_gsm7(text: str) -> str:
    """`text` with typographic quotes, dashes and ellipses replaced by their GSM-7 stand-ins."""
    return "".join(GSM7_SUBSTITUTES.get(ch, ch) for ch in text)


# Letters outside the GSM-7 alphabet, written as the nearest letter in it, as SMS senders do in
# Spanish and French (an SMS with one character outside GSM-7 holds 70 characters, not 160).
# A capital È becomes "E'" as Italians write it without the key: a bare "E" reads as "and".
GSM7_FOLD = str.maketrans({
    "á": "a", "í": "i", "ó": "o", "ú": "u", "â": "a", "ê": "e", "î": "i", "ô": "o", "û": "u",
    "ë": "e", "ï": "i", "ç": "c", "œ": "oe", "Á": "A", "Í": "I", "Ó": "O", "Ú": "U",
    "Â": "A", "Ê": "E", "Î": "I", "Ô": "O", "Û": "U", "È": "E'", "À": "A", "Ù": "U",
    "Ì": "I", "Ò": "O", "ã": "a", "õ": "o",
})


def fold_to_gsm7(text: str) -> str:
    """`text` in the GSM-7 alphabet when typographic characters and accents are all that stand
    in the way (else `text` unchanged)."""
    folded = to_gsm7(text).translate(GSM7_FOLD)
    return folded if sms_count(folded).encoding == "GSM-7" else text


def _units(ch: str, encoding: str) -> int:
    if encoding == "GSM-7":
        return 2 if ch in _EXTENSION else 1
    return 2 if ord(ch) > 0xFFFF else 1


@dataclass(frozen=True)
class SmsCount:
    """How an SMS text is encoded and how many parts it is sent as."""

    encoding: Literal["GSM-7", "UCS-2"]
    units: int                 # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int
    limit: int                 # units that fit in one message with this encoding
    non_gsm: tuple[str, ...]   # characters that forced UCS-2, in order of appearance

    @property
    def fits_one(self) -> bool:
        return self.segments <= 1

    def describe(self) -> str:
        why = f" (because of {' '.join(self.non_gsm)})" if self.non_gsm else ""
        return (f"{self.units}/{self.limit} {self.encoding} units{why}, "
                f"{self.segments} message{'s' if self.segments != 1 else ''}")


def sms_count(text: str) -> SmsCount:
    """Encoding, length in units and number of parts of an SMS text (merge fields reserved)."""
    text = expand_merge_fields(text)
    non_gsm = tuple(dict.fromkeys(ch for ch in text if ch not in _BASIC and ch not in _EXTENSION))
    encoding: Literal["GSM-7", "UCS-2"] = "UCS-2" if non_gsm else "GSM-7"
    units = sum(_units(ch, encoding) for ch in text)
    if units <= SMS_SINGLE[encoding]:
        return SmsCount(encoding, units, 1 if units else 0, SMS_SINGLE[encoding], non_gsm)
    part, segments, used = SMS_PART[encoding], 1, 0
    for ch in text:  # pack greedily: an escape or surrogate pair never straddles two parts
        u = _units(ch, encoding)
        if used + u > part:
            segments, used = segments + 1, 0
        used += u
    return SmsCount(encoding, units, segments, SMS_SINGLE[encoding], non_gsm)


def field_length(channel: str, field: str, text: str) -> int:
    """Length of a field as its limit counts it (SMS: units; else characters, merge reserved)."""
    if channel == "sms":
        return sms_count(text).units
    return len(expand_merge_fields(text))


def field_limit(channel: str, field: str, text: str = "") -> int:
    """The most a field may hold; for SMS it depends on the encoding the text needs."""
    if channel == "sms":
        return sms_count(text).limit
    return LIMITS[channel][field]


def over_limit(channel: str, fields: dict[str, str]) -> list[tuple[str, int, int]]:
    """(field, length, limit) for each field that is too long."""
    out = []
    for name in LIMITS[channel]:
        text = fields.get(name) or ""
        length, limit = field_length(channel, name, text), field_limit(channel, name, text)
        if length > limit:
            out.append((name, length, limit))
    return out


# -- structured copy, one model per channel ----------------------------------------------------
class _Copy(BaseModel):
    """Campaign copy for one channel; validators enforce the channel's limits and merge fields."""

    CHANNEL: ClassVar[str] = ""

    @field_validator("*")
    @classmethod
    def _only_known_merge_fields(cls, value, info):
        if isinstance(value, str):
            known = () if cls.CHANNEL == "push" else \
                MERGE_FIELDS + (LEGAL_MERGE_FIELDS if cls.CHANNEL == "email" else ())
            unknown = {m for m in MERGE_FIELD_RE.findall(value) if m not in known}
            if unknown:
                allowed = ", ".join("{{" + f + "}}" for f in known)
                raise ValueError(
                    f"{info.field_name}: only the merge fields {allowed} are allowed, not "
                    f"{', '.join(sorted(unknown))}" if known else
                    f"{info.field_name}: no merge fields in a push notification (it shows on "
                    f"the lock screen), not {', '.join(sorted(unknown))}")
        return value

    @model_validator(mode="after")
    def _within_limits(self):
        over = over_limit(self.CHANNEL, self.fields())
        if over:
            raise ValueError("; ".join(f"{f} is {n} characters long, the limit is {lim}"
                                       for f, n, lim in over))
        return self

    def fields(self) -> dict[str, str]:
        return {k: str(v) for k, v in self.__dict__.items() if k in type(self).model_fields}


def _limited(channel: str, field: str, description: str):
    return Field(description=f"{description} At most {LIMITS[channel][field]} characters.")


class EmailCopy(_Copy):
    """A marketing email: subject, preheader, plain-text body and button text."""

    CHANNEL: ClassVar[str] = "email"
    subject: str = _limited("email", "subject", "Subject line, specific and honest.")
    preheader: str = _limited("email", "preheader", "Preview text shown after the subject.")
    body: str = _limited("email", "body", "Plain-text body: greeting with {{first_name}}, short "
                         "paragraphs, sign-off, the required disclosure, then the legal footer "
                         "(unsubscribe line with {{unsubscribe_url}}, {{sender_name}}, "
                         "{{sender_address}}).")
    cta: str = _limited("email", "cta", "Button text, a verb first.")


class SmsCopy(_Copy):
    """One SMS text, including the brand name, the required disclosure and the opt-out."""

    CHANNEL: ClassVar[str] = "sms"
    text: str = Field(description="The whole SMS: at most 160 GSM-7 characters (70 if any "
                      "character is outside GSM-7), including the opt-out.")


class PushCopy(_Copy):
    """A push notification: title and body."""

    CHANNEL: ClassVar[str] = "push"
    title: str = _limited("push", "title", "Title, no merge fields (lock screen).")
    body: str = _limited("push", "body", "Body, including any required disclosure; no merge "
                         "fields or personal details (lock screen).")


class InAppCopy(_Copy):
    """An in-app message: title, body and button text."""

    CHANNEL: ClassVar[str] = "in_app"
    title: str = _limited("in_app", "title", "Title.")
    body: str = _limited("in_app", "body", "Body, including any required disclosure.")
    cta: str = _limited("in_app", "cta", "Button text, a verb first.")


COPY_MODELS: dict[str, type[_Copy]] = {
    "email": EmailCopy, "sms": SmsCopy, "push": PushCopy, "in_app": InAppCopy,
}
