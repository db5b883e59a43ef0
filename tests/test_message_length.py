"""SMS length in GSM-7 and UCS-2, segments, merge-field widths and the channel copy models."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tools.message_length import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    MERGE_FIELD_WIDTH,
    EmailCopy,
    InAppCopy,
    PushCopy,
    SmsCopy,
    over_limit,
    sms_count,
)


@pytest.mark.parametrize(("text", "encoding", "units", "segments"), [
    ("", "GSM-7", 0, 0),
    ("Hello", "GSM-7", 5, 1),
    ("a" * 160, "GSM-7", 160, 1),                 # exactly one message
    ("a" * 161, "GSM-7", 161, 2),                 # then parts of 153
    ("a" * 306, "GSM-7", 306, 2),
    ("a" * 307, "GSM-7", 307, 3),
    ("Grüße aus Köln: Straße, Ärger, Übermut", "GSM-7", 38, 1),  # umlauts and ß are GSM-7
    ("Preis: 5 €", "GSM-7", 11, 1),               # € is an extension character: 2 septets
    ("[x]{y}^~|\\", "GSM-7", 18, 1),              # 8 extension characters
    ("€" * 80, "GSM-7", 160, 1),
    ("€" * 81, "GSM-7", 162, 2),
    ("it’s", "UCS-2", 4, 1),                      # a typographic apostrophe forces UCS-2
    ("„Hallo“", "UCS-2", 7, 1),
    ("x" * 69 + "’", "UCS-2", 70, 1),
    ("x" * 70 + "’", "UCS-2", 71, 2),             # then parts of 67
    ("ł" * 134, "UCS-2", 134, 2),
    ("ł" * 135, "UCS-2", 135, 3),
    ("😀", "UCS-2", 2, 1),                        # outside the BMP: a surrogate pair
    ("😀" * 35, "UCS-2", 70, 1),
    ("😀" * 36, "UCS-2", 72, 2),
])
def test_sms_count(text, encoding, units, segments):
    count = sms_count(text)
    assert (count.encoding, count.units, count.segments) == (encoding, units, segments)
    assert count.limit == (160 if encoding == "GSM-7" else 70)


def test_a_split_never_cuts_an_escape_or_surrogate_pair():
    # 306 septets fit two parts of 153 when the escape pair falls inside the first part ...
    assert sms_count("a" * 151 + "€" + "a" * 153).segments == 2
    # ... but not when it would straddle the boundary: 152 | 2 + 151 | 1
    assert sms_count("a" * 152 + "€" + "a" * 152).segments == 3
    # UCS-2: 66 units then an emoji (2 units) must start the second part
    assert sms_count("ł" * 66 + "😀" + "ł" * 66).segments == 3


def test_alphabet_tables_have_the_standard_sizes():
    assert len(set(GSM7_BASIC)) == 127            # 128 minus the escape code
    assert set(GSM7_EXTENSION) == set("\f^{}\\[~]|€")
    assert "€" not in GSM7_BASIC and "ä" in GSM7_BASIC and "ß" in GSM7_BASIC


def test_non_gsm_characters_are_named():
    count = sms_count("Finch – jetzt „neu“")
    assert count.non_gsm == ("–", "„", "“")
    assert "because of – „ “" in count.describe()


def test_merge_fields_count_at_their_reserved_width():
    assert sms_count("Hi {{first_name}}").units == 3 + MERGE_FIELD_WIDTH["first_name"]
    assert sms_count("{{ city }}").units == MERGE_FIELD_WIDTH["city"]
    assert over_limit("push", {"title": "{{first_name}}, " + "x" * 26, "body": "ok"}) == []
    assert over_limit("push", {"title": "{{first_name}}, " + "x" * 27, "body": "ok"}) == [
        ("title", 41, 40)]


@pytest.mark.parametrize(("model", "fields", "message"), [
    (EmailCopy, {"subject": "x" * 61, "preheader": "p", "body": "b", "cta": "c"},
     "subject is 61 characters long, the limit is 60"),
    (EmailCopy, {"subject": "s", "preheader": "x" * 101, "body": "b", "cta": "c"},
     "preheader is 101"),
    (EmailCopy, {"subject": "s", "preheader": "p", "body": "b", "cta": "x" * 31}, "cta is 31"),
    (SmsCopy, {"text": "a" * 161}, "text is 161 characters long, the limit is 160"),
    (SmsCopy, {"text": "’" + "a" * 70}, "text is 71 characters long, the limit is 70"),
    (PushCopy, {"title": "x" * 41, "body": "b"}, "title is 41"),
    (PushCopy, {"title": "t", "body": "x" * 151}, "body is 151"),
    (InAppCopy, {"title": "t", "body": "b", "cta": "x" * 25}, "cta is 25"),
    (PushCopy, {"title": "Hi {{last_name}}", "body": "b"}, "not last_name"),
    (EmailCopy, {"subject": "s", "preheader": "p", "body": "Mail {{email}}", "cta": "c"},
     "not email"),
])
def test_copy_models_enforce_limits_and_merge_fields(model, fields, message):
    with pytest.raises(ValidationError, match=message):
        model(**fields)


def test_copy_models_accept_copy_within_limits():
    sms = SmsCopy(text="Finch: Hi {{first_name}}, your card is ready. STOP to 12345")
    assert sms.fields() == {"text": "Finch: Hi {{first_name}}, your card is ready. STOP to 12345"}
    email = EmailCopy(subject="s" * 60, preheader="p" * 100, body="b", cta="c" * 30)
    assert set(email.fields()) == {"subject", "preheader", "body", "cta"}
    assert "At most 40 characters" in PushCopy.model_json_schema()["properties"]["title"][
        "description"]


@pytest.mark.parametrize(("text", "folded"), [
    ("Finch: È il momento di risparmiare.", "Finch: E' il momento di risparmiare."),
    ("Finch : À faire dès aujourd'hui.", "Finch : A faire dès aujourd'hui."),
    ("Hoy es un buen día: próximo viaje", "Hoy es un buen dia: proximo viaje"),
    ("Das geht: 2,75 % – ohne Gebühren", "Das geht: 2,75 % - ohne Gebühren"),
])
def test_sms_text_is_folded_to_gsm7_the_way_each_language_writes_without_accents(text, folded):
    from tools.message_length import fold_to_gsm7
    assert fold_to_gsm7(text) == folded
    assert sms_count(folded).encoding == "GSM-7"
