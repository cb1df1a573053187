"""Auto-moderation: each signal with positive and negative cases (Vietnamese
diacritic, spacing and punctuation variants included), and the verdict
filing the comment where it belongs."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.screening.screen import Screen, Thresholds, _flooded, read_words
from service.settings import AbuseRules, ConfigError
from tests.helpers import (
    DATA,
    Client,
    form_submission,
    form_token,
    keys_of,
    mint,
    public_ids,
    site,
    submission,
)

SCREEN = Screen.for_rules(AbuseRules())


def reasons(body: str, name: str = "An") -> list[str]:
    return [r.split(":")[0] for r in SCREEN.assess(name, body).reasons]


@pytest.mark.parametrize(
    "body",
    [
        "đm thằng này",
        "ĐM",
        "đ.m bài viết",
        "đ m bài viết",
        "d.i.t m.e",
        "dit me may",
        "địt mẹ",
        "Đi\u0323t me\u0323\u0302",  # decomposed marks
        "l.ồ.n",
        "vcl thật",
        "v c l",
        "fuck off",
        "f*ck off",
        "F U C K",
        "sh1t",
        "a s s h o l e",
        "đ\u200bm",  # a zero-width space inside
        "óc chóóóóó",
    ],
)
def test_banned_words_match_through_the_tricks(body: str) -> None:
    assert "banned-word" in reasons(body), body


@pytest.mark.parametrize(
    "body",
    [
        "Bài viết rất hay, cảm ơn tác giả.",
        "lon bia Hà Nội",  # "lon" (a can) is not "lồn"
        "Các bạn đeo khẩu trang nhé",  # "các", "đeo" are not "cặc", "đéo"
        "Tôi đi ngủ sớm",  # "ngủ" is not "ngu"
        "Đụng xe ở Đống Đa",
        "Scunthorpe assessment class cocktail therapist",
        "HLV Dick Advocaat",
        "Đi mua đồ ăn ở địa điểm mới",
        "Thời tiết cực kỳ đẹp, đỉnh quá",
    ],
)
def test_no_false_hits_inside_words_or_across_diacritics(body: str) -> None:
    assert reasons(body) == [], body


def test_suspect_words_hold() -> None:
    assessment = SCREEN.assess("An", "Thằng ngu, đọc lại đi")
    assert "suspect-word:thằng ngu" in assessment.reasons
    assert assessment.verdict == "hold"


def test_links_count_and_many_links_hold() -> None:
    assert reasons("Xem https://baochinhphu.vn/a") == []
    assert reasons("https://a.vn/x và https://b.vn/y") == ["links"]
    three = "https://a.vn https://b.vn https://c.vn"
    assert SCREEN.assess("An", three).verdict == "hold"


def test_shouting_but_not_acronyms() -> None:
    assert reasons("TÔI KHÔNG ĐỒNG Ý VỚI BÀI VIẾT NÀY CHÚT NÀO CẢ") == ["shouting"]
    assert reasons("UBND TP.HCM và VFF đã họp với WHO hôm qua về dịch bệnh") == []


def test_character_floods() -> None:
    assert reasons("hay quá " + "!" * 15) == ["flood"]
    assert reasons("ha" * 12) == ["flood"]
    assert reasons("hay quá!!!") == []
    assert reasons("hay quá " + "!" * 10) == ["flood"]
    assert reasons("hay quá " + "!" * 9) == []


def test_word_floods() -> None:
    assert reasons("bài-" + "rác " * 8) == ["flood"]  # the first one glued to a word
    assert reasons("rác " * 7 + "thôi") == []  # seven is not a flood
    assert reasons("rất rất hay, bài viết rất rất hay") == []
    # Seventh round: a smiley, an emoji or a letter said eight times is one too.
    assert reasons("=)) " * 8) == ["flood"]
    assert reasons("🐋 " * 8) == ["flood"]
    assert reasons("a " * 7 + "a") == []


# The flood patterns as one regular expression, tried at every position:
# what _flooded's cheap checks must never disagree with.
_FLOOD_ANYWHERE = re.compile(r"(\S)\1{9,}|(\S{2,6}?)\2{7,}|(\S{1,12}\s+)\3{7,}")
_FLOODY = st.text(alphabet=st.sampled_from("aàb!_ \t\n\u00a0x1"), max_size=80)


# Texts made of runs: a unit said 1 to 12 times, so runs near the patterns'
# lengths (ten characters, eight words) come up often.
_RUNS = st.lists(
    st.tuples(
        st.sampled_from(["ha", "ha ", "đm ", "!", "a", " ", "\u3000", "x_", "bài-"]),
        st.integers(1, 12),
    ),
    max_size=8,
)


@given(_RUNS)
@settings(max_examples=500, deadline=None)
def test_flood_checks_agree_with_the_patterns(runs: list[tuple[str, int]]) -> None:
    body = "".join(unit * n for unit, n in runs)
    assert _flooded(body) == bool(_FLOOD_ANYWHERE.search(body))


@given(_FLOODY)
@settings(max_examples=300, deadline=None)
def test_flood_checks_agree_on_any_text(body: str) -> None:
    assert _flooded(body) == bool(_FLOOD_ANYWHERE.search(body))


def test_verdicts_follow_the_thresholds() -> None:
    lenient = Screen(read_words("banned"), read_words("suspect"), Thresholds(20, 30, 40))
    assert lenient.assess("An", "đm").verdict == "pass"
    assert SCREEN.assess("An", "đm").verdict == "reject"
    strict = Screen([], ["ngu"], Thresholds(1, 2, 3))
    assert strict.assess("An", "ngu").verdict == "reject"


def test_thresholds_must_be_ordered(make_settings: Any) -> None:
    with pytest.raises(ConfigError, match="hold_at <= spam_at <= reject_at"):
        make_settings(sites={"news": site(abuse={"hold_at": 5, "spam_at": 4})})


async def _submit(client: Client, body: str) -> tuple[str, str]:
    [captcha] = await mint(client)
    answer = await client.post("/v1/sites/news/comments", json=submission(captcha, body=body))
    assert answer.status == 202, await answer.text()
    data = await answer.json()
    return data["id"], data["status"]


async def test_a_banned_word_is_filed_rejected_with_its_reason(make_client: Any, rds: Any) -> None:
    client = await make_client(sites={"news": site(moderation="post")})
    comment_id, status = await _submit(client, "đ.m bài viết")
    assert status == "pending"  # the author is not told
    stored = await rds.hgetall(keys_of(client).comment(comment_id))
    assert stored[b"status"] == b"rejected"
    assert stored[b"reasons"] == "banned-word:đm".encode()
    assert float(stored[b"score"]) == 10.0
    assert await rds.zscore(keys_of(client).queue("rejected"), comment_id) is not None
    assert await public_ids(client) == []


async def test_a_hold_overrides_post_moderation(make_client: Any, rds: Any) -> None:
    client = await make_client(sites={"news": site(moderation="post")})
    clean_id, clean_status = await _submit(client, "Bài viết rất hay.")
    held_id, held_status = await _submit(client, "Thằng ngu viết bài")
    assert (clean_status, held_status) == ("approved", "pending")
    assert await public_ids(client) == [clean_id]
    stored = await rds.hgetall(keys_of(client).comment(held_id))
    assert stored[b"status"] == b"pending" and stored[b"visible"] == b"0"


async def test_spam_goes_to_the_spam_queue(make_client: Any, rds: Any) -> None:
    rules = {"hold_at": 3, "spam_at": 4, "reject_at": 50}
    client = await make_client(sites={"news": site(abuse=rules)})
    comment_id, _ = await _submit(
        client, "nhà cái uy tín https://a.xyz/1 https://b.xyz/2 https://c.xyz/3"
    )
    assert await rds.zscore(keys_of(client).queue("spam"), comment_id) is not None


async def test_a_sites_own_words_count(make_client: Any, rds: Any) -> None:
    client = await make_client(sites={"news": site(abuse={"suspect_words": ["bán hàng"]})})
    comment_id, _ = await _submit(client, "Ai cần BÁN HÀNG thì liên hệ")
    stored = await rds.hgetall(keys_of(client).comment(comment_id))
    assert stored[b"reasons"] == "suspect-word:bán hàng".encode()


def test_phone_numbers_and_short_links() -> None:
    assert reasons("Gọi ngay 0912.468.357 nhé") == ["phone-number"]
    assert reasons("LH +84 912 468 357") == ["phone-number"]
    assert reasons("Năm 2022 có 1234567 người") == []
    assert reasons("Xem https://bit.ly/abc123") == ["short-link"]
    assert reasons("Xem https://baochinhphu.vn/abc") == []


def test_symbols_and_runs_inside_words() -> None:
    assert "banned-word" in reasons("sh!t like this")
    assert "banned-word" in reasons("Ó.c c.h.ó à mà tin")  # "à" is a word of its own
    assert reasons("email me at an@example.vn") == []


def test_the_name_and_the_body_are_screened_apart() -> None:
    # A one-letter name must not join the body's spaced letters into a new word.
    assert "banned-word" in reasons("f u c k the referee", name="K")
    assert "banned-word" in reasons("Bài viết hay", name="đ.m")


@pytest.mark.parametrize(
    ("name", "recall", "false_positives"),
    [
        ("corpus.jsonl", 0.95, 0.02),
        ("corpus-b.jsonl", 0.95, 0.02),
        # Tuned on in the third round (before it: 65.5 % and 7.7 %; after:
        # 97.3 % and 0.0 %): a floor a little under what it reached.
        ("heldout.jsonl", 0.95, 0.01),
        # Tuned on in the fourth round (before it: 83.7 % and 1.8 %; after:
        # 100 % and 0.6 %): a floor a little under what it reached.
        ("heldout-3.jsonl", 0.97, 0.01),
        # Tuned on in the fifth round, with heldout-5 and -6 (before it: 76.3 %
        # and 2.4 %; after: 97.0 % and 0.0 %).
        ("heldout-4.jsonl", 0.95, 0.01),
        # Written blind for the learned model and tuned on in the fifth round
        # (before it: 70.7 % and 2.5 %, 74.4 % and 3.9 %; after: 88.0 % and
        # 0.3 %, 93.0 % and 0.6 %).
        ("heldout-5.jsonl", 0.86, 0.01),
        ("heldout-6.jsonl", 0.91, 0.01),
        # Written blind after the fifth round, measured once (79.3 % and
        # 1.2 %), then tuned on in the sixth with the training sets (after
        # it: 81.5 % and 0.0 %).
        ("heldout-7.jsonl", 0.81, 0.005),
        # Written blind after the sixth round, measured once (74.8 % and
        # 0.3 %), then tuned on in the seventh with train-t4 and -t5 (after
        # it: 85.6 % and 0.3 %).
        ("heldout-8.jsonl", 0.85, 0.005),
        # Written for the learned model, never tuned on before the sixth
        # round (before it: 78.9 % and 2.4 %, 71.1 % and 3.0 %, 71.9 % and
        # 2.7 %; after: 81.9 % and 0.6 %, 75.6 % and 0.6 %, 81.1 % and 0.0 %).
        ("train-t1.jsonl", 0.80, 0.01),
        ("train-t2.jsonl", 0.75, 0.01),
        ("train-t3.jsonl", 0.80, 0.005),
        # Never tuned on before the seventh round (before it: 72.6 % and
        # 0.9 %, 66.2 % and 3.4 %; after: 81.5 % and 0.9 %, 80.1 % and 3.4 %:
        # t5's clean comments held are weight loss and hotlines, left alone).
        ("train-t4.jsonl", 0.81, 0.01),
        ("train-t5.jsonl", 0.80, 0.025),  # 2.4 % after the eighth round
        # Training sets the rules were never tuned on before the eighth
        # round (62.6 % and 0.9 %, 70.4 % and 1.2 %), and the blind set
        # written after the seventh, measured once (59.6 % and 1.5 %); after
        # the eighth: 81.1 % and 0.3 %, 81.9 % and 0.0 %, 78.5 % and 0.6 %.
        ("train-t6.jsonl", 0.80, 0.005),
        ("train-t7.jsonl", 0.80, 0.005),
        ("heldout-9.jsonl", 0.77, 0.01),
        # Training sets never tuned on before the ninth round (after the
        # eighth: 73.0 % and 2.1 %, 74.4 % and 1.5 %, 68.5 % and 0.9 %,
        # 73.0 % and 0.9 %), and the two blind sets written after the eighth,
        # measured once (73.0 % and 2.4 %, 64.4 % and 1.8 %); the ninth
        # round tuned on them, mostly their clean side: 73.7 % and 0.6 %,
        # 76.7 % and 0.6 %, 68.5 % and 0.0 %, 73.0 % and 0.0 %, 73.0 % and
        # 0.6 %, 64.4 % and 1.2 %.
        ("train-t8.jsonl", 0.72, 0.01),
        ("train-t9.jsonl", 0.76, 0.01),
        ("train-t10.jsonl", 0.68, 0.005),
        ("train-t11.jsonl", 0.72, 0.005),
        ("heldout-10.jsonl", 0.72, 0.01),
        ("heldout-11.jsonl", 0.63, 0.015),
        # Written blind while the ninth round ran, measured once (73.0 % and
        # 0.6 %), then tuned on in the tenth with train-t12 and -t13, hard
        # negatives never tuned on before it (69.6 % and 1.8 %, 76.3 % and
        # 1.8 %); after it: 81.5 % and 0.0 %, 79.6 % and 0.6 %, 81.1 % and
        # 0.3 %.
        ("heldout-12.jsonl", 0.81, 0.005),
        ("train-t12.jsonl", 0.78, 0.01),
        ("train-t13.jsonl", 0.80, 0.005),
        # Blind sets measured once after the tenth round and never tuned on
        # (80.4 % and 2.7 %, 74.4 % and 1.5 %, 69.3 % and 1.8 %): floors that
        # keep later rounds from losing ground on text they did not see.
        ("heldout-13.jsonl", 0.80, 0.03),
        ("heldout-14.jsonl", 0.74, 0.016),
        ("heldout-15.jsonl", 0.69, 0.02),
    ],
)
def test_the_corpus_is_sorted_no_worse_than_measured(
    name: str, recall: float, false_positives: float
) -> None:
    # A floor under bench/evaluate.py's figures (README), so that a change to
    # the folding or the word lists cannot quietly lose ground.
    corpus = DATA / name
    items = [json.loads(line) for line in corpus.read_text(encoding="utf-8").splitlines()]
    held = {
        i["id"]: SCREEN.newcomer_verdict(SCREEN.assess(i["name"], i["body"])) != "pass"
        for i in items
    }
    abusive = [i["id"] for i in items if i["label"] == "abusive"]
    clean = [i["id"] for i in items if i["label"] == "clean"]
    assert len(items) >= 240
    assert sum(held[i] for i in abusive) / len(abusive) >= recall
    assert sum(held[i] for i in clean) / len(clean) <= false_positives


async def test_a_filled_honeypot_is_rejected_silently(make_client: Any, rds: Any) -> None:
    client = await make_client(sites={"news": site(moderation="post")})
    [bot, person] = await mint(client, count=2)
    body = submission(bot, website="https://seo.example")
    answer = await client.post("/v1/sites/news/comments", json=body)
    assert answer.status == 202 and (await answer.json())["status"] == "pending"
    stored = await rds.hgetall(keys_of(client).comment((await answer.json())["id"]))
    assert (stored[b"status"], stored[b"reasons"]) == (b"rejected", b"honeypot")
    empty = await client.post("/v1/sites/news/comments", json=submission(person, website=""))
    assert (await empty.json())["status"] == "approved"


async def test_the_form_carries_the_honeypot_too(make_client: Any, rds: Any) -> None:
    client = await make_client()
    [captcha] = await mint(client)
    form = form_submission(captcha, website="x", form_token=form_token())
    answer = await client.post("/v1/sites/news/comments", data=form, allow_redirects=False)
    assert answer.status == 303
    assert "lb_status=pending" in answer.headers["Location"]
    [comment_key] = [k async for k in rds.scan_iter(match="*:c:*")]
    assert await rds.hget(comment_key, "reasons") == b"honeypot"


@pytest.mark.parametrize(
    ("name", "body", "reason"),
    [
        ("An", "Vay nhanh tại https://vaynhanh.vip/dang-ky", "risky-link"),
        ("An", "Ｘｅｍ ｔạｉ ｈｔｔｐｓ://ｖａｙｎｈａｎｈ.ｖｉｐ/ａ", "risky-link"),  # fullwidth
        ("An", "Viết thuê luận văn: hxxps://essay-pro[.]org", "obfuscated-link"),
        ("An", "Email sales (at) luxe-watch (dot) com", "obfuscated-link"),
        ("An", "Liên hệ shop-ao[.]com nhé", "obfuscated-link"),
        ("nhacaiuytin88.top", "Bài viết hay", "advert-in-name"),
        ("Zalo 0966 372 118 vay nhanh", "Mưa lớn quá", "advert-in-name"),
        ("nhacai88 vip . com", "Đội tuyển cố lên!", "advert-in-name"),  # a spaced-out domain
        ("cheap-loans(dot)xyz", "Interesting read", "advert-in-name"),
        ("An", "Gọi ngay: không chín tám, ba bốn năm, sáu bảy tám một", "phone-number"),
        ("An", "xóa bài đi " * 8, "flood"),  # a phrase, not a word, repeated
        ("FuckTheMods", "Agreed with the comment above.", "banned-word"),  # camel case
        ("An", "Go fսck yourself", "banned-word"),  # an Armenian "u"
        ("An", "ｆｕｃｋ this", "banned-word"),  # fullwidth letters
    ],
)
def test_link_and_name_tricks_are_seen(name: str, body: str, reason: str) -> None:
    assert reason in reasons(body, name=name), (name, body)


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("Q.Anh", "Theo TP.HCM, Q.1 sẽ cấm xe"),  # initials and abbreviations, not domains
        ("Dr. Smith", "Read the report at https://moh.gov.vn/tin-tuc"),  # one link, official
        ("An", "Giá vàng (SJC) tăng 2% [theo VnExpress]"),  # brackets are not a hidden link
        ("An", "Ăn hạt óc chó mỗi ngày tốt cho tim mạch"),  # a walnut
        ("An", "Nhà tôi ở đường Nam Kỳ Khởi Nghĩa"),  # a street
        ("An", "Đi Sa Pa bị chém giá quá"),  # overcharged, not slashed
        ("An", "Giá vé năm nay tăng từ hai trăm lên ba trăm nghìn"),  # numbers in words
        ("An", "Mưa to quá, mưa to thật, mưa cả ngày"),  # some repetition is speech
        ("McDonald", "Ý kiến hay"),  # camel case in a real name
    ],
)
def test_innocent_names_links_and_phrases_are_not_flagged(name: str, body: str) -> None:
    assert reasons(body, name=name) == [], (name, body)


def test_an_allowed_phrase_only_excuses_the_word_inside_it() -> None:
    assert set(reasons("Hạt óc chó ngon, còn mày đúng là đồ ngu")) == {"suspect-word"}


def test_a_first_time_link_is_counted_for_newcomers_only() -> None:
    assessment = SCREEN.assess("An", "Xem https://example.com/a")
    assert assessment.links == 1 and assessment.verdict == "pass"
    # The accept script adds FIRST_TIME_LINK (2) for a newcomer: below hold alone.
    assert SCREEN.newcomer_verdict(assessment) == "pass"
    risky = SCREEN.assess("An", "Xem https://example.click/a")
    assert risky.verdict == "pass" and SCREEN.newcomer_verdict(risky) == "hold"


def test_a_word_that_is_a_slur_and_a_place_is_held_not_rejected() -> None:
    # "Nam Kỳ" is a historical region as well as a slur: a person decides.
    assert reasons("Thời Pháp thuộc, Nam Kỳ là xứ thuộc địa") == ["suspect-word"]
    assert SCREEN.assess("An", "nam ky an hai").verdict == "hold"


def test_a_match_is_counted_once_when_both_lists_hold_it() -> None:
    # "đm" is banned; its plain spelling "dm" is suspect: one reason, not two.
    assert reasons("đ.m bài viết") == ["banned-word"]


@pytest.mark.parametrize(
    "body",
    [
        "Phóng viên bị nhắn tin đe dọa 'liệu hồn đấy', công an cần vào cuộc",
        "Con tôi bị bạn gọi là “Bắc kỳ” suốt, mong nhà trường nhắc nhở",
        'She received messages saying "we know where you live". Police must act.',
        "Cảnh giác với chiêu 'việc nhẹ lương cao' sang Campuchia",
    ],
)
def test_words_in_quotes_are_reported_not_said(body: str) -> None:
    assert reasons(body) == [], body


@pytest.mark.parametrize(
    "body",
    [
        "Mày đúng là 'đồ ngu', về học lại đi",
        'Tác giả bài này là "thằng ngu" chứ còn gì',
        'You are a "moron" and everyone knows it',
        '"Đồ súc sinh" như mày thì nói làm gì',
    ],
)
def test_scare_quotes_are_the_authors_own_words(body: str) -> None:
    # No word of saying or naming beside the quote: nobody is being reported.
    assert set(reasons(body)) & {"suspect-word", "hate", "threat"}, body


def test_a_quote_is_reported_by_the_word_after_it_too() -> None:
    assert reasons("'Cẩn thận cái mồm', hắn nhắn cho chị như vậy, công an cần xử lý") == []
    assert reasons('"You are an idiot," he said, and the court fined him') == []


def test_quotes_excuse_only_what_is_inside_them() -> None:
    # Outside the quotes the author speaks; "don't" and "M'Nông" open no quote.
    assert "suspect-word" in reasons("Bài 'phản biện' này đúng là đồ ngu viết")
    assert "suspect-word" in reasons("I don't care what 'experts' say, you are an idiot")
    assert "threat" in reasons("I don't care, I'm going to find you and shoot you")
    assert reasons("Đồng bào M'Nông ở Đắk Lắk, tôi đã từng đến") == []
    # A banned word reported in quotes is named, not sworn: it weighs a
    # little; said outside them, or in scare quotes, it is banned.
    assert reasons("Nó chửi 'đ.m' giữa phố") == ["quoted-word"]
    assert "banned-word" in reasons("Nó chửi 'đ.m' giữa phố, đm nó")
    assert "banned-word" in reasons("Mày đúng là 'óc chó', cút đi")


@pytest.mark.parametrize(
    "body",
    [
        "The stupid thing about the toll system is it takes no cash",
        "I was stupid enough to ride into Hanoi at 5pm",
        "Banning motorbikes now is a dumb policy",
        "Moderators, the comment above is a betting ad, please remove it",
        "Anyone who sees child abuse can call the 111 hotline",
        "Ủng hộ việc bắt giữ kẻ tạt axit, phải xử thật nặng",
        "Nan nhan ngu tai xa Tan Phu",  # "ngụ tại", lives at, typed without marks
    ],
)
def test_words_about_things_or_reports_of_spam_are_not_insults(body: str) -> None:
    assert reasons(body) == [], body


def test_the_same_words_about_a_person_still_count() -> None:
    assert "suspect-word" in reasons("You are stupid and your article is a stupid mess")
    assert "suspect-word" in reasons("Thằng ngu tại sao lại viết thế")
    assert "suspect-word" in reasons("Tao sẽ tạt axit vào mặt nó")


@pytest.mark.parametrize(
    "body",
    [
        "tao sẽ giết mày",
        "Tao biết nhà mày rồi, cứ chờ đấy",
        "Nhà mày ở đâu tao biết hết, coi chừng",
        "Chúng mày ra đường thì cẩn thận cái mạng",
        "Tối nay tao đốt nhà mày",
        "tao chem luon, khong noi nhieu",  # without diacritics
        "tao se giet may",
        "ra đây t xử",  # teencode pronoun next to the act
        "tao sẽ g i ế t cả nhà nó",  # spaced letters
        "Thằng nhà báo này phải đánh cho què",  # a call for violence
        "Bọn tham nhũng nên treo cổ hết",
        "I will kill you",
        "I'm going to find you and hurt you, reporter",
        "u r dead, i know ur street",
        "You're dead meat",
        "I know where you live",
        "I know what car you drive. Watch yourself.",
        "I've got your plate number",
        "found your Facebook",
        "Keep writing lies and see what happens to your family",
        "You'll regret writing this",
        "Hope you die in a fire",
        "That minister deserves to die",
        "Officials like this should be dragged out and shot",
        "Someone should shoot that judge",
        "Next time I'm bringing a bat",
        "watch your back",
    ],
)
def test_a_threat_aimed_at_someone_is_held(body: str) -> None:
    assessment = SCREEN.assess("An", body)
    assert "threat" in [r.split(":")[0] for r in assessment.reasons], body
    assert assessment.verdict != "pass", body


@pytest.mark.parametrize(
    "body",
    [
        "Tài xế bị đánh chết ở Bình Dương, mong công an sớm bắt hung thủ",
        "Vụ giết người phân xác quá rùng rợn",
        "Kẻ tạt axit đã bị bắt, phải xử thật nặng",
        "Xe container cán chết người rồi bỏ trốn",
        "Tôi đánh giá cao bài viết, tao với mày đọc rồi",  # "đánh giá" is no blow
        "Mưa to, mọi người đi đường cẩn thận nhé",
        "Coi chừng đường trơn đoạn qua đèo Hải Vân",
        "Đội tuyển phải đánh bại Thái Lan",
        "Công trình sai phép nên đập bỏ",
        "Xe chet may giua duong, tao phai day bo",  # "chết máy": the engine stalled
        "Flash floods killed at least 12 people overnight",
        "That second goal killed the game",
        "I'll find the link and post it later",
        "I know what you mean about the traffic",
        "You're going to love Hội An",
        "Watch out for potholes on Nguyễn Trãi",
        "Police arrested the gang who stabbed a delivery driver",
    ],
)
def test_news_and_everyday_words_of_violence_are_not_threats(body: str) -> None:
    assert "threat" not in reasons(body), body


def test_a_threat_is_one_signal_however_many_frames_see_it() -> None:
    found = reasons("tao sẽ giết mày, t xử m, I will kill you")
    assert found.count("threat") == 1


@pytest.mark.parametrize(
    "body",
    [
        "Dân Thanh Hóa toàn lũ ăn cắp",
        "Dan Thanh Hoa di dau cung trom cap",  # without diacritics
        "Người miền Tây lười biếng, chỉ giỏi nhậu",
        "Bọn bắc kỳ đứa nào cũng gian như rắn",
        "Bọn theo đạo Hồi đi đâu cũng gây chuyện",
        "Tụi Tàu sang đây cút về nước hết đi",
        "Đồng tính là bệnh hoạn, tống hết lên trại",
        "Đàn bà chỉ nên ở nhà đẻ con",
        "Mấy tộc người trên núi ở bẩn quen rồi",
        "Immigrants are parasites, deport them all",
        "Muslims don't belong in this country",
        "These hill tribe people live like animals",
        "Northerners should go back to their villages",
        "Typical Asians, can't drive",
    ],
)
def test_contempt_for_a_people_is_held_as_hate(body: str) -> None:
    assessment = SCREEN.assess("An", body)
    assert "hate" in [r.split(":")[0] for r in assessment.reasons], body
    assert assessment.verdict != "pass", body


@pytest.mark.parametrize(
    "body",
    [
        "Người dân Thanh Hóa bức xúc vì nạn trộm cắp xe máy",  # residents, not a people
        "Người Thanh Hóa chúng tôi rất hiếu khách",
        "Bà con miền Trung năm nào cũng chịu lũ, mong mọi người ủng hộ",
        "Sau lũ miền Trung nhiều nhà bị cuốn trôi",  # "lũ" is a flood
        "Người đồng tính không phải là bệnh hoạn",  # a denial
        "Hồi giáo cấm ăn thịt lợn",
        "Con gái tôi lười ăn quá, bác sĩ tư vấn giúp",
        "Phụ nữ lười vận động dễ mắc bệnh tim",
        "WHO đã loại đồng tính khỏi danh sách bệnh",
        "Not all Muslims are lazy, that stereotype is ignorant",
        "Refugees are treated like animals in those camps, it is shameful",
        "Migrant workers go back to their hometowns for Tết",
        "I'm a foreigner and people here have always been kind to me",
    ],
)
def test_naming_or_defending_a_group_is_not_hate(body: str) -> None:
    assert "hate" not in reasons(body), body
    assert SCREEN.assess("An", body).verdict == "pass", body


@pytest.mark.parametrize(
    ("body", "verdict"),
    [
        ("Đ.c.m cái bọn phân luồng", "reject"),
        ("Go home, сhinks", "reject"),  # a Cyrillic "с", and a plural
        ("a bunch of f4gg0ts", "reject"),
        ("Bọn dư luận viên, lũ bò đỏ", "hold"),
        ("đếch ai chịu trách nhiệm", "hold"),
        ("Loại như mày sống chỉ tổ chật đất", "hold"),
        ("não như quả nho mà cũng đòi làm MC", "hold"),
        ("Only a complete waste of oxygen would say that", "hold"),
        ("Women should get back to the kitchen", "hold"),
        ("Mod ở đâu? Gặp ngoài đời nói chuyện bằng dao", "hold"),
    ],
)
def test_round_three_words(body: str, verdict: str) -> None:
    assert SCREEN.assess("An", body).verdict == verdict, body


@pytest.mark.parametrize(
    "body",
    [
        "Đồ khùng, đọc lại bài đi",
        "Thằng phóng viên viết như thằng khu\u0300ng",  # decomposed marks
        "Mày điên à mà nói thế?",
        "Con mụ hâm kia im đi",
        "thằng dở hơi này viết gì vậy",
        "Đồ thiể\u200cu năng",  # a zero-width non-joiner inside
        "thang tam than nay noi gi vay",  # without diacritics
        "Bọn súc sinh ăn tiền dân",
        "Đồ cầm thú",
        "Thằng 🐶 kia",  # an animal emoji said of a person
        "Mày là con 🐷 à",
        "Câm mõm đi, đọc kỹ rồi hẵng sủa",
        "What a spineless little weasel",
        "You dirty rat",
        "Such a troll",
        "You absolute numpty",
        "The referee is a bellend",
        "a corrupt piece of garbage",
        "Did your mother drop you on your head?",
        "Smooth brain take as usual",
    ],
)
def test_insults_of_a_head_and_a_trait_are_held(body: str) -> None:
    assert "suspect-word" in reasons(body), body


@pytest.mark.parametrize(
    "body",
    [
        "Nuôi con thiểu năng trí tuệ là nỗi vất vả lớn",  # "con": a child
        "Con tôi chậm phát triển, bác sĩ khuyên can thiệp sớm",
        "Chăm con bại não suốt 10 năm, chị vẫn lạc quan",
        "Vùng lũ khốn khổ, bà con cần giúp đỡ",  # "lũ": a flood
        "Mùa lũ điên cuồng năm nay cuốn trôi cây cầu",
        "Giá bò giảm, nuôi một con bò bán không đủ tiền cám. Bà con rat kho",
        "Con chó nhà bên sủa cả đêm",
        "Lũ chó hoang cắn trẻ em ở Bình Dương",
        "Mua phải đồ đểu trên mạng, mất 2 triệu",
        "The coin tosser at the match was a kid",
        "A little rat ran across the kitchen",
        "Brain cell research wins the Nobel prize",
        "Every piece of trash on the beach was collected",
    ],
)
def test_the_same_words_about_children_animals_and_things_are_not_insults(body: str) -> None:
    assert SCREEN.assess("An", body).verdict == "pass", body


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("Ngguuuuuu quá trời ơi", "suspect-word"),  # a doubled letter, drawn out
        ("Asshooooole", "banned-word"),  # a term's own doubles still match
        ("Thằng HLV đúng là ng.u l.o.l", "suspect-word"),  # short groups dotted apart
        ("Loz gì mà vé đắt thế", "banned-word"),
        ("LOZZZZ", "banned-word"),
        ("Nói lol gì thế", "suspect-word"),
        ("deo hieu noi gi", "suspect-word"),
        ("What a clusterf\u2060uck", "banned-word"),  # swearing inside a compound
        ("You fuckwit", "banned-word"),
        ("You fvcking idiot", "banned-word"),
    ],
)
def test_teencode_doubled_letters_and_compounds(body: str, reason: str) -> None:
    assert reason in reasons(body), body


@pytest.mark.parametrize(
    "body",
    [
        "TP.HCM và Hà Nội mưa lớn, v.v.",
        "Sooooo good, thanks for the class",
        "LOL that was a great goal",
        "Wankdorf, Fukuoka and Scunthorpe",
        "Ngân hàng tăng lãi suất lên 5,8%/năm kỳ hạn 12 tháng",  # not "Nam Kỳ"
        "Is the 1900 hotline in the article reachable from abroad?",
        "Tao tìm ra cách sửa máy giặt rồi",
        "Tao xem một trận bóng hay nhất năm",
    ],
)
def test_round_four_spellings_leave_ordinary_text_alone(body: str) -> None:
    assert reasons(body) == [], body


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("Xem bóng đá full HD tại xoilac-tv88.com", "risky-link"),  # hyphen and digits
        ("Game bài đổi thưởng: nohu99.vip", "risky-link"),  # a cheap TLD, no "/"
        ("Choi game bai tai gamebai-vip99.club", "risky-link"),
        ("Đăng ký tại k e o n h a c a i . c o m", "obfuscated-link"),
        ("Lose weight: k e t o - b u r n . c o m", "obfuscated-link"),
    ],
)
def test_bare_and_spelled_out_spam_domains(body: str, reason: str) -> None:
    assessment = SCREEN.assess("An", body)
    assert reason in [r.split(":")[0] for r in assessment.reasons], body
    assert SCREEN.newcomer_verdict(assessment) != "pass", body


@pytest.mark.parametrize(
    "body",
    [
        "Xem tin trên vnexpress.net và tuoitre.vn mỗi sáng",
        "Số liệu từ kenh14.vn và 24h.com.vn",
        "Nguồn: who.int, covid-19.gov.vn",
    ],
)
def test_bare_domains_of_sources_are_not_links(body: str) -> None:
    assessment = SCREEN.assess("An", body)
    assert assessment.links == 0 and assessment.reasons == (), body


@pytest.mark.parametrize(
    "body",
    [
        "Đứa nào viết bài này thì coi chừng, tối nay nhớ khóa cửa",
        "Thằng nào còn nói nữa thì liệu hồn",
        "dua nao viet bai thi coi chung",
        "Có ngày ra đường bị tạt axit thì đừng trách",
        "Một ngày nào đó ăn dao thì đừng kêu",
        "tao se tim ra may, cho may mot tran nho doi",
    ],
)
def test_veiled_threats_are_held(body: str) -> None:
    assert "threat" in reasons(body), body


@pytest.mark.parametrize(
    "body",
    [
        "Đứa nào đi xe máy cũng phải cẩn thận đoạn này",
        "Kẻ nào giết cô gái vẫn chưa bị bắt",
        "Con nào đánh rơi ví ở chợ thì liên hệ nhé",
        "Có ngày mưa to, có ngày nắng gắt, bà con chú ý",
        "Hút thuốc nhiều có ngày chết thì đừng trách",
        "Đi xe ẩu có ngày bị xe tông thì đừng trách ai",
        "Vụ nữ sinh bị tạt axit: nghi phạm đã bị bắt",
    ],
)
def test_warnings_and_crime_news_are_not_veiled_threats(body: str) -> None:
    assert reasons(body) == [], body


@pytest.mark.parametrize(
    "body",
    [
        "Dân Thanh Hóa đi đâu cũng trộm cắp",  # "đâu cũng": everywhere, no denial
        "Bon moi tren rung chi biet an trom",
        "Người khuyết tật thì ở nhà đi, ra đường làm gì cho chướng mắt",
        "Muslims are a cancer on this country",
        "Typical Asian driver",
        "Immigrants are an infestation",
        "Women shouldn't be allowed to vote",
    ],
)
def test_round_four_hate_is_held(body: str) -> None:
    assert "hate" in reasons(body), body


@pytest.mark.parametrize(
    "body",
    [
        "Người khuyết tật không phải là gánh nặng của xã hội",
        "Chi phí điều trị là gánh nặng đối với người khuyết tật nghèo",
        "Người khuyết tật phải đi ăn xin kiếm sống, thật đáng thương",
        "Người Việt đi đâu cũng nhớ phở",
        "Violence against women has no place in football",
        "Refugees don't deserve this treatment",
        "Asian markets rose today; Mexican food festival in District 1",
        "Jewish community leaders condemned the attack",
    ],
)
def test_round_four_groups_named_or_defended_are_not_hate(body: str) -> None:
    assert reasons(body) == [], body


@pytest.mark.parametrize(
    "body",
    [
        # "ngu" typed without marks may be "ngủ": in a text with no marks at all.
        "Troi nong qua, toi nay ca nha lai ra hien ngu",
        "Bắc Kỳ, Trung Kỳ, Nam Kỳ là cách người Pháp chia ba xứ",
        "Got a scam call from someone claiming to be the tax office",
        "Tránh xa cá độ, bao nhiêu gia đình tan nát rồi",
        "Chưa thể chữa dứt điểm bệnh này, đừng tin quảng cáo",
        "Ai bảo dân miền Tây lười là chưa xuống đó bao giờ",
        "Dân miền Tây tụi tôi ăn Tết sớm",
        "Đánh chết người trộm là phạm tội, dù bức xúc đến đâu",
        "Thuế cao thế này là giết chết doanh nghiệp nhỏ",
        "Honestly it is stupid to leave cash in a car",
        '"Shrimp brains" is what that troll writes under every article',
        "Mấy 'trading bot' ads này toàn lừa đảo",
        "Anh em tự xử lý trong nhóm, đừng làm phiền ban quản lý",
    ],
)
def test_round_five_warnings_history_and_reports_are_not_abuse(body: str) -> None:
    assert reasons(body) == [], body


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("Ngủ gì mà ngu thế", "suspect-word"),  # marks elsewhere: "ngu" is ngu
        ("thang ngu do viet sai het", "suspect-word"),
        ("$hit referee, $hit league", "banned-word"),
        ("cả hội não 🦐 kéo nhau lên mạng", "suspect-word"),
        ("Complete shite, the lot of it", "banned-word"),
        ("Only an absolute muppet would sign that", "suspect-word"),
        ("Nhận quà tân thủ: vip88-vn3.com/nhan", "risky-link"),
        ("Dân Thanh Nghệ Tĩnh toàn lũ vô ơn", "hate"),
        ("Nhà mày ở phố nào anh em tra ra rồi", "threat"),
        ("We know which hostel you are in", "threat"),
        ("I know where that columnist lives", "threat"),
        ('"Đồ súc sinh" như mày thì nói làm gì', "suspect-word"),
    ],
)
def test_round_five_families_are_held(body: str, reason: str) -> None:
    assert reason in reasons(body), body


@pytest.mark.parametrize(
    "body",
    [
        # Swear words and slurs quoted by a reader who reports or condemns them.
        "Con tôi toàn học mấy câu 'vcl', 'đm' trên mạng về nói",
        'Đừng gọi người ta là "súc vật", ai cũng có lúc sai',
        "Mấy bình luận 'Parky' ở trên nên bị xóa",
        # Words of saying this round adds: typed, an opinion, let slip.
        "Người vừa gõ 'đồ ngu' ở trên nên xin lỗi",
        'Ý kiến "ai mua nhà lúc này là não phẳng" thì tôi không đồng ý',
        'Có người buông "đm" ngay giữa buổi họp phụ huynh',
        # Dumb questions, abstractions and herds killed, a reader saying not to.
        "Hỏi ngu tí: vé xe buýt mua ở đâu ạ?",
        "Phí cao thế này là giết chết động lực khởi nghiệp",
        "Dịch tả heo về thì phải giết hết đàn, mất trắng",
        "Đừng giết hết mèo hoang, hãy triệt sản",
        "Stupid machine ate my card again, third time this month",
        "The loser of Sunday's final goes down a division",
        # Warnings of gambling ads, a policy loan, a bank's hotline, shopping.
        "Cấm người nổi tiếng nhận quảng cáo cho nhà cái đi",
        "Hộ nghèo được vay vốn ưu đãi 3 năm",
        "Mất thẻ thì gọi hotline ngân hàng khóa ngay",
        "Đặt hàng từ thứ hai mà giờ chưa nhận được",
        "Đi chợ vậy mà quên mang túi",  # "chợ vậy" is no "cho vay"
    ],
)
def test_round_six_reports_warnings_and_everyday_words_are_not_abuse(body: str) -> None:
    assert SCREEN.newcomer_verdict(SCREEN.assess("An", body)) == "pass", body


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("Con đi chợ về rồi, dm thằng bán cá", "suspect-word"),
        ("Cần tiền gấp? Cho vay không thế chấp, lãi thấp", "suspect-word"),
        ("cho vay tien nhanh trong ngay", "suspect-word"),
        ("Đặt hàng ngay hôm nay giảm 50%", "suspect-word"),
        ("Mày hỏi ngu thế", "suspect-word"),
        ("Tao giết chết mày", "suspect-word"),
        ("You stupid loser", "suspect-word"),
        ("Nhà cái uy tín số 1", "suspect-word"),
        ("Vay vốn không thế chấp, giải ngân trong ngày", "suspect-word"),
    ],
)
def test_round_six_leaves_the_abuse_it_narrowed_held(body: str, reason: str) -> None:
    assert reason in reasons(body), body


@pytest.mark.parametrize(
    "body",
    [
        "Phân bón giao tận rẫy, gọi 0262 3 815 447",  # a landline: area code and 7 digits
        "Bảo vệ vườn 24/7, LH 0262.3.91.44.07",
        "Thu gom trọn gói, gọi anh Tư: 0 9 1 8 - 6 2 7 - 3 4 5",
        "Giao nước tận nhà, gọi 0 2 4 3 . 9 9 1 . 6 6 0",
    ],
)
def test_phone_numbers_with_an_area_code_or_wide_spacing_are_seen(body: str) -> None:
    assert "phone-number" in reasons(body), body


@pytest.mark.parametrize(
    "body",
    [
        "Sơn chống thấm chính hãng, giá chỉ từ 90k, mua ngay kẻo hết!",
        "Lớp tiếng Anh giao tiếp, học thử miễn phí, đăng ký ngay hôm nay",
        "Garden sheds built to order, free delivery, call us today",
        "New phones in stock now, order now before the price goes up",
    ],
)
def test_an_adverts_call_to_act_now_is_held(body: str) -> None:
    assert "suspect-word" in reasons(body), body


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("Ai bỏ phiếu cho luật này đúng là óc bò", "suspect-word"),
        ("mấy ông đó toàn lũ oc bo", "suspect-word"),
        ("Người ra quyết định này đúng là bò đội nón", "suspect-word"),
        ("What a tool, the lot of you", "suspect-word"),
        ("Grow up, you snowflake", "suspect-word"),
        ("Bunch of absolute dumbasses", "banned-word"),
    ],
)
def test_round_six_insults_are_held(body: str, reason: str) -> None:
    assert reason in reasons(body), body


@pytest.mark.parametrize(
    "body", ["Dân Hà Tĩnh cái giống ấy đi đâu cũng thế", "Người Nghệ An lươn lẹo lắm"]
)
def test_round_six_marks_of_hate_are_held(body: str) -> None:
    assert "hate" in reasons(body), body


def test_a_seed_variety_is_no_breed_of_people() -> None:
    assert reasons("Dân Thái Bình trồng giống ấy năng suất cao") == []


def test_beef_brain_on_the_menu_is_no_insult() -> None:
    assert reasons("Quán này có món óc bò hấp gừng rất ngon") == []


@pytest.mark.parametrize(
    "body",
    [
        "Lính bắc kì vào đâu cũng ăn cắp",  # "kì" spelt for "kỳ"
        "Dân Lạng Sơn chỉ giỏi buôn lậu",  # a province more
        "Người Tày ở bẩn lắm",  # a people of the hills
        "Mấy đứa miền tây lười như nhau",  # a contemptuous few before a region
        "Tham nhũng là ADN của dân ngoài đó",  # a people's vice inborn
        "Cả xóm dân ngụ cư mạt hạng",
        "Too many migrants here, send them home",  # a xenophobe's marks
        "Those people steal our jobs",
        "Foreigners ruin everything they touch",
        "Asylum seekers are leeches",
        "Typical scousers",
    ],
)
def test_round_seven_hate_is_held(body: str) -> None:
    assert any(r.startswith("hate") for r in reasons(body)), body


@pytest.mark.parametrize(
    "body",
    [
        "Tôi là người Huế, dân Huế hiếu khách lắm",
        "Học sinh gian lận thi cử bị đình chỉ",
        "Cheap chargers can't be trusted, they ruin everything",
        "Lũ miền Trung năm nay lên nhanh, bà con sơ tán sớm",
        "Người dân Cà Mau trồng rừng ngập mặn giỏi",
    ],
)
def test_round_seven_marks_and_places_alone_are_not_hate(body: str) -> None:
    assert reasons(body) == [], body


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("Đúng là lũ não sứa", "suspect-word"),  # brains of a jellyfish or a sponge
        ("What a spongehead", "suspect-word"),
        ("A bunch of clownfish-brains", "suspect-word"),
        ("Only mushroom-brained fools buy this", "suspect-word"),
        ("bon do ngu nhu lon", "suspect-word"),  # dumb as a pig, without diacritics
        ("dung la suc vat", "suspect-word"),
        ("Tay nghề như hạch", "suspect-word"),
        ("Đúng là đồ bọ hung", "suspect-word"),  # a dung beetle after a strong head
        ("Greedy parasites, all of them", "suspect-word"),
    ],
)
def test_round_seven_insults_are_held(body: str, reason: str) -> None:
    assert reason in reasons(body), body


def test_a_dung_beetle_in_nature_is_no_insult() -> None:
    assert reasons("Con bọ hung lăn phân là loài có ích cho đất") == []


@pytest.mark.parametrize(
    "body",
    [
        "Someone should pay him a visit",  # veiled threats with no word of violence
        "He might pay them a little visit tonight",
        "The ref should watch his back",
        "If he comes back he'll leave on a stretcher",
        "I know where they park",
        "She should think twice before walking home alone",
        "Đứa nào dám cãi thì đừng trách tao ra tay",
        "Thằng đó cẩn thận, anh em chụp ảnh mặt rồi",
    ],
)
def test_round_seven_threats_are_held(body: str) -> None:
    assert any(r.startswith("threat") for r in reasons(body)), body


@pytest.mark.parametrize(
    "body",
    [
        "We should pay her a visit in hospital",
        "Công an đã ra tay bắt giữ nhóm trộm",
        "The keeper was carried off on a stretcher",
    ],
)
def test_visits_and_stretchers_in_the_news_are_not_threats(body: str) -> None:
    assert reasons(body) == [], body


@pytest.mark.parametrize(
    "body",
    [
        "Gốm Bát Tràng giá gốc, nhận ship toàn quốc",  # adverts' terms of sale
        "Rèm cửa may đo, khảo sát miễn phí tận nhà",
        "Sâm núi thật, cam kết hoàn tiền nếu không hiệu quả",
        "Mua 3 tặng 1 trong tuần này",
        "Cần bán đất thổ cư, gặp chính chủ",
        "Minicabs to the airport, book now",
        "Free valuation of your flat this week",
        "One weird trick doctors hate",
        "Join my team and earn from every new recruit",  # a pyramid scheme
        "Tax returns filed fast, first consultation free",
    ],
)
def test_round_seven_adverts_without_a_phone_are_held(body: str) -> None:
    assert "suspect-word" in reasons(body), body


# Round eight: first the clean comments the rules held, then the abuse they
# missed, by family, each on text none of the corpora holds.
@pytest.mark.parametrize(
    "body",
    [
        "Số hotline của trung tâm cứu hộ là gì vậy ạ?",  # a hotline asked about
        "Gọi hotline cả buổi không ai nghe máy",
        "Nạn cho vay nặng lãi ở quê tôi làm nhiều nhà tan nát",  # usury condemned
        "ngay truoc cho vay nang lai bi bat ngay",
        "Mua hai túi óc chó sấy về làm quà Tết",  # walnuts
        'Có người chê khán giả "ngu như bò", nghe mà buồn',  # an insult reported
        "Cúng thì đừng đốt cả đống vàng mã, phí lắm",  # votive paper
        "Stupid of me to leave the umbrella on the bus",  # a reader's own slip
        "The hotel is easy to find from the station",
        "I know the pub well, lovely beer garden",
        "Người nghệ sĩ già sống trong căn phòng bẩn và chật",  # "người Nghệ" is no people
        "Người thành phố vô ý thức xả rác thì phải phạt",  # nor "người thành"
        "Đúng là óc sáng tạo của người trẻ, quá hay",  # a faculty of the mind
        "Bài viết về não bộ của trẻ nhỏ rất bổ ích",
        "loai oc buou vang pha lua ghe qua",  # a species of snail, typed plain
        "Can I pick your brains about the recipe?",
        "She was the brains behind the whole rescue",
        "The teenage brain is still developing",  # a brain, no compound
        "Hang tìm ra từ năm 1991, năm 2009 mới khảo sát",  # years, no number
        "Gọi 1900 9095 hoặc 115 khi cần",  # a hotline in figures, no digit words
        "Con ông Tư học trường chuyên, cả xóm ai cũng khen",
    ],
)
def test_round_eight_clean_comments_are_published(body: str) -> None:
    assert reasons(body) == [], body


def test_a_lenders_name_is_still_an_advert() -> None:
    # Usury excused as news is never a lender's own name.
    assert "suspect-word" in reasons("Bài hay", name="Cho Vay Nặng Lãi 247")


@pytest.mark.parametrize(
    "body",
    [
        "Gọi ngay hotline bên em để được giá tốt",  # a seller's own hotline
        "Tuyển đại lý bánh tráng, không cần vốn",  # agents with no capital
        "Tuyển cộng tác viên bán mỹ phẩm tại nhà",
        "Viên ngủ ngon nhập khẩu, giao kín đáo, không cần đơn",
        "Đăng ký ngay khóa luyện thi cấp tốc",
        "Liên hệ ngay để giữ suất",
        "Tặng kèm ốp lưng khi mua máy",
        "Giảm 50% chỉ hôm nay cho khách mới",
        "Thu mua điện thoại cũ giá cao nhất thị trường",
        "Discreet shipping worldwide, ask for our price list",
        "Group rates for schools and bulk discounts for clubs",
        "10% off the first box with code SPRING",
        "Enquire via our page, no agency fee this month",
        "Ring our office for a viewing",
        "Order at our shop before Friday",
    ],
)
def test_round_eight_adverts_are_held(body: str) -> None:
    assert "suspect-word" in reasons(body), body


@pytest.mark.parametrize(
    ("body", "name"),
    [
        ("Call five five five zero one two three for a quote", "An"),  # seven digit words
        ("Hotline 0912 ba bốn năm sáu bảy tám", "An"),  # figures and words together
    ],
)
def test_numbers_partly_or_wholly_in_words_are_seen(body: str, name: str) -> None:
    assert "phone-number" in reasons(body, name=name), body


def test_a_number_in_words_in_the_name_is_an_advert() -> None:
    name = "Cho thuê xe Zalo không chín một hai ba bốn năm sáu bảy"
    assert "advert-in-name" in reasons("Đẹp quá", name=name)


@pytest.mark.parametrize(
    "body",
    [
        "Đúng là lũ óc cá mè",  # a brain likened to anything, after a head
        "Toàn bọn não bèo, nói mãi không hiểu",
        "đồ não đậu phụ",
        "Mấy người đó toàn lũ đầu óc củ chuối",
        "bon nao ga nay noi lam gi",  # typed without diacritics
        "What a bunch of turnip-brains",  # a compound on "brains"
        "Total gravelbrain, that one",
        "Only quinoa-brained hipsters queue for this",
        "Gormless, the lot of them",  # dullness, whatever the head
        "A pack of mouth-breathers",
        "He has the IQ of a doorknob",
        "Parking goblins ruin every street",
        "Absolute muppets on both benches",  # a trait in the plural
        "Such a snivelling rat, that man",
        "Cả bọn như lũ ếch ộp",  # frogs at a well's bottom
        "Lão chủ nhà chó đẻ",
        "Đúng là đồ liếm giày",
        "Đầu rỗng mà hay nói",
    ],
)
def test_round_eight_insults_are_held(body: str) -> None:
    assert "suspect-word" in reasons(body), body


@pytest.mark.parametrize(
    "body",
    [
        "Bunch of assholes",  # plurals and spellings of the swear words
        "Those useless b*stards",
        "What a load of bollocks",
        "Union f**kers",
        "Như cái lìn",
        "ϲunt",  # a lunate sigma for "c"
    ],
)
def test_round_eight_swearing_is_held(body: str) -> None:
    assert {"banned-word", "suspect-word"} & set(reasons(body)), body


@pytest.mark.parametrize(
    "body",
    [
        "Dân Nghệ keo kiệt nổi tiếng",  # a province's short name after "dân"
        "Nên hạn chế người gốc Hoa mở tiệm ở đây",  # kept out, politely
        "Dân tỉnh lẻ lên đây chỉ làm bẩn phố",
        "Dân miệt vườn quen thói chen lấn",
        "Người vùng cao văn hóa thấp nên mới vậy",
        "Some nationalities simply don't understand a queue",
        "Recent arrivals who don't share our values",
        "Choirs from poorer provinces: standards drop every year",
        "Migrant riders don't have our manners",
    ],
)
def test_round_eight_polite_hate_is_held(body: str) -> None:
    assert any(r.startswith("hate") for r in reasons(body)), body


@pytest.mark.parametrize(
    "body",
    [
        "Nhà ông ở đầu ngõ tôi biết rồi, ông cứ chờ",  # whereabouts known
        "Xe cô màu đỏ đúng không, tụi tôi biết cả",
        "Tao biết nó học trường nào rồi",
        "Con anh học lớp nào tôi cũng biết, nghĩ kỹ đi",
        "Bà nào còn đổ rác ở đây thì coi chừng",  # "whichever of you"
        "I know which gym you train at",  # English: haunts and habits known
        "I know the bar he drinks in",
        "We know her schedule now",
        "We've got your names",
        "Some people are very easy to find",
    ],
)
def test_round_eight_veiled_threats_are_held(body: str) -> None:
    assert any(r.startswith("threat") for r in reasons(body)), body


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("Vé rẻ tại t.ly/ve-re-hom-nay", "short-link"),  # a shortener more
        ("Giá sốc tại shop-giare dot club", "obfuscated-link"),  # a spam TLD spelled out
    ],
)
def test_round_eight_links_are_seen(body: str, reason: str) -> None:
    assert reason in reasons(body), body


def test_a_shortened_link_is_a_link() -> None:
    # So that a first-time author's shortened link adds first-time-link.
    assert SCREEN.assess("An", "Tra cứu ngay tại rb.gy/tra-cuu").links == 1


@pytest.mark.parametrize(
    "body",
    [
        "Roof repairs, call 555-0199 today",  # seven digits after a word that asks to call
        "Text PIZZA to 555-0123",
        "Ring Minh on 555-0175",
        "Our office: (212) 555-0183",  # with the area code
        "Visas fast, 305-555-0177",
    ],
)
def test_north_american_numbers_are_seen(body: str) -> None:
    assert "phone-number" in reasons(body), body


def test_a_range_is_no_north_american_number() -> None:
    assert reasons("Hội nghị có 500-1000 khách, vé 300-1500 nghìn") == []


def test_scores_and_dates_are_no_phone_numbers() -> None:
    assert reasons("Tỷ số 3-0, 2-1, 1-0 và 4-2 trong bốn trận, ngày 07.12.2026") == []


def test_reported_swear_words_weigh_a_little_together() -> None:
    # Each banned word in a reported quote adds a little: three hold.
    assert SCREEN.assess("An", "Nó chửi 'vcl', 'đm', 'đéo' giữa lớp").verdict == "hold"


def test_a_name_in_capitals_with_marked_letters_is_one_word() -> None:
    # "Đ" and "Ọ" are capitals: no camel case splits "ĐKM" into "Đ KM".
    assert "banned-word" in reasons("Bài viết hay", name="ĐKM BAN QUẢN LÝ")


def test_a_word_and_its_spaced_phrase_count_once() -> None:
    # "braindead" and "brain dead" are both listed: one word, one reason.
    assert reasons("u r a braindead troll") == ["suspect-word"]
    assert reasons("you brain dead troll") == ["suspect-word"]


_SCREEN_IN_A_PROCESS = """
import sys
from service.screening.screen import Screen
from service.settings import AbuseRules
screen = Screen.for_rules(AbuseRules())
for body in sys.argv[1:]:
    print(screen.assess("An", body).score, screen.assess("An", body).reasons)
"""


def test_every_worker_process_scores_alike() -> None:
    # Workers are separate processes with their own hash seeds: nothing in
    # the screening may follow a set's order, or one text gets two scores.
    bodies = ["u r a braindead troll", "Absolute cluster-f**k of a rescue", "f*cking idiot"]
    outputs = {
        subprocess.run(
            [sys.executable, "-c", _SCREEN_IN_A_PROCESS, *bodies],
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in range(6)
    }
    assert len(outputs) == 1, outputs


def test_sites_with_the_same_rules_share_one_screen() -> None:
    assert Screen.for_rules(AbuseRules()) is Screen.for_rules(AbuseRules())
    own = Screen.for_rules(AbuseRules(suspect_words=["quạc quạc"]))
    assert own is not Screen.for_rules(AbuseRules())
    # A site's own words stay its own.
    assert [r.split(":")[0] for r in own.assess("An", "đừng quạc quạc").reasons] == ["suspect-word"]
    assert SCREEN.assess("An", "đừng quạc quạc").reasons == ()
    stricter = Screen.for_rules(AbuseRules(hold_at=2.0))
    assert stricter.thresholds.hold == 2.0 and SCREEN.thresholds.hold == 3.0


# Round nine: the clean comments the rules held in heldout-10, -11 and
# train-t8 to -t11, by family, each on text none of the corpora holds.
@pytest.mark.parametrize(
    "body",
    [
        "Not stupid at all, the fee keeps the queue short",  # "stupid" denied
        "It was a stupid tackle, not a violent one",  # said of an act
        "Left my keys at work, which was stupid given the rain",
        "Stupid move by the council to close the bridge in summer",
        "Bạn ấy có ngu đâu, chỉ là chưa được dạy thôi",  # "ngu" denied
        "Tỉnh đã hứa sớm giải ngân tiền hỗ trợ bà con vùng lũ",  # public money
        "Hợp đồng ghi rõ giải ngân theo đợt nên chậm là phải",
        "Cầu này làm bằng vay vốn nước ngoài, nợ công tăng thêm",
        "Nước mình thiếu một hệ thống cho vay học phí minh bạch",
        "Cá độ là phạm pháp, các em đừng tin mấy trang đó",  # betting condemned
        "Web lậu toàn quảng cáo cá độ, cẩn thận kẻo dính mã độc",
        "Tết nào tôi cũng đi chùa với đám bạn Khmer",  # friends
        "Ông ấy đi đâu cũng chê dân miền Tây lười, sai bét",  # a stereotype run down
        "Cứ đổ lỗi cho người nhập cư, nói họ vô ơn, là sai",
        "Tôi người Thanh Hóa, chưa trộm cắp của ai bao giờ",  # the author's own people
        'Cái meme "con chó ngu" hồi đó ai cũng share',  # a meme named
        "Cẩn thận 'kiếm tiền online' lừa đảo đó",  # a scam's line
        "That 'crypto giveaway' link is fake, report it",  # a link named
    ],
)
def test_round_nine_clean_comments_are_published(body: str) -> None:
    assert reasons(body) == [], body


@pytest.mark.parametrize(
    "body",
    [
        "You are stupid, simple as that",  # still said of a person
        "Mày ngu thật, ngu hết chỗ nói",
        "Cần vay vốn nhanh, giải ngân trong ngày, inbox em",  # a lender's advert
        "Cá độ bóng đá tỷ lệ cao, vào ngay",
        "Đám Khmer đó toàn trộm cắp",
        "Dân miền Tây lười lắm",
        'Mày đúng là "đồ ngu"',  # scare quotes
    ],
)
def test_round_nine_the_same_words_still_count(body: str) -> None:
    assert reasons(body) != [], body


@pytest.mark.parametrize(
    ("body", "held"),
    [
        ("Whoever signed off on this is a total teapotskull", True),  # a coinage on "skull"
        ("Only mothskulls believe the mayor", True),
        ("The numbskulled fans booed their own team", True),
        ("Archaeologists found a skull under the old market", False),  # a skull is news
        ("He fractured his skull in the fall, wear a helmet", False),
        ("Skullcap tea is sold at the night market", False),
    ],
)
def test_round_nine_a_compound_on_skull_is_an_insult(body: str, held: bool) -> None:
    assert ("suspect-word" in reasons(body)) is held, body


# Round ten: the clean comments the rules held in heldout-12 and train-t12,
# -t13, by family, each on text none of the corpora holds.
@pytest.mark.parametrize(
    "body",
    [
        "Lúa chết hết rồi, bà con mất trắng cả vụ",  # what has died, not a curse
        "Tin lời ngọt thì bị lừa, đó không phải là ngu mà là cả tin",  # "ngu" denied
        "Con cái bưng bô cho bố mẹ già là chuyện thường",  # a child, no toady
        "Món tôi thích nhất ở quán này là óc heo hấp",  # "là" is no head of contempt
        "Dân xứ Quảng nói giọng khó nghe nhưng thật thà",  # a region named
        "Many Romanians come here for free training at the club",
        "Their office is not hard to find, it's next to the bakery",  # directions
        "Vandals threw a brick through the pub window last night",  # news
        "Green scum on the lake after the heat wave",
    ],
)
def test_round_ten_clean_comments_are_published(body: str) -> None:
    assert reasons(body) == [], body


@pytest.mark.parametrize(
    "body",
    [
        "Chúng mày chết hết đi cho rảnh",  # the curse
        "Mày ngu thật, ngu hết chỗ nói",
        "Con bưng bô cho mẹ, còn thằng bưng bô kia thì nịnh sếp",  # after a strong head
    ],
)
def test_round_ten_the_same_words_still_count(body: str) -> None:
    assert reasons(body) != [], body


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        # A club or a kind of brains, whatever they are likened to.
        ("Cả hội óc rau muống kéo nhau đi ký đơn", "suspect-word"),
        ("Ông này đúng hệ não bột chiên", "suspect-word"),
        # A toady, and scum said of people.
        ("Toàn lũ nâng bi sếp, làm được gì", "suspect-word"),
        ("The landlords are scum, all of them", "suspect-word"),
        ("Get lost, you scum", "suspect-word"),
        # Swearing in other spellings.
        ("Đjt mẹ cái hãng bay này", "banned-word"),
        ("đ'má cái kiểu làm ăn", "banned-word"),
        ("Cái đệch, lại mất điện", "suspect-word"),
        ("what a fcuking mess of a timetable", "banned-word"),
        ("The sodding council did it again", "suspect-word"),
        ("That's total bollox", "suspect-word"),
        ("ffs not again", "suspect-word"),
        # Slurs and their spellings.
        ("Lại thêm mấy ông pắc-kỳ vào làm", "banned-word"),
        ("Too many pakis on this estate", "suspect-word"),
        ("The gyppos are back on the common", "suspect-word"),
        ("Quán này của bọn hàn xẻng", "suspect-word"),
    ],
)
def test_round_ten_insults_swearing_and_slurs_are_held(body: str, reason: str) -> None:
    assert reason in reasons(body), body


@pytest.mark.parametrize(
    "body",
    [
        "Dân xứ Nghệ keo như hủi, đừng buôn bán với họ",
        "Bọn ngoài đó chỉ bênh nhau thôi",
        "Albanians on the council? Their loyalty is not to this town",
        "Half of them are Romanians here for free treatment",
        "Builders now are all that sort, you'd be counting the spoons",
    ],
)
def test_round_ten_hate_is_held(body: str) -> None:
    assert "hate" in reasons(body), body


@pytest.mark.parametrize(
    "body",
    [
        "Biết lối ông đi rồi, ông cứ chờ đấy",  # the way the target walks
        "Xe ông đậu đầu chợ, ra đường nhớ nhìn quanh",  # told to look around
        "Nhà ông ở cuối xóm, bà con không quên đâu",  # the crowd has not forgotten
        "Đường về nhà ông thì cả xã ai cũng thuộc",
        "Con anh học trường làng, anh giữ mình nhé",
        "Nhà cô ở hẻm 5, sớm muộn gì cũng gặp",
        "Your home isn't hard to find, mate",
        "Keep writing and someone might pop by to say hello",  # a visit
        "Be a shame if something happened to that van of yours",  # a racket's idioms
        "Funny how things happen to shops that complain",
        "Someone will put a rock through your kitchen window",
    ],
)
def test_round_ten_veiled_threats_are_held(body: str) -> None:
    assert "threat" in reasons(body), body


# Round ten, on train-t12 and -t13: a gasp, a thing called stupid, a call
# reported, no one wanting a stereotype, an idea killed off, blame named.
@pytest.mark.parametrize(
    ("clean", "abusive"),
    [
        ("Vãi thật, giá vé tăng gấp đôi", "Vãi lờ, giá vé tăng gấp đôi"),
        ("Stupid scheme, and a stupider council", "You are stupid, and your council too"),
        (
            "Gọi các cô lao công lớn tuổi là 'lũ não tôm' thì bạn hơn ai?",
            "Các cô lao công đúng là 'lũ não tôm'",
        ),
        (
            "Calling pensioners pea-brains won't fix the buses",
            "Calling you a pea-brain is too kind",
        ),
        (
            "Người Thanh Hóa không ai muốn mang tiếng trộm cắp cả",
            "Người Thanh Hóa ai cũng trộm cắp cả",
        ),
        (
            "Someone has to kill off the myth that trains are cheap",
            "Someone has to kill the referee",
        ),
        ("Blaming immigrants for the queues is lazy", "Immigrants are lazy, all of them"),
    ],
)
def test_round_ten_clean_forms_of_t12_and_t13(clean: str, abusive: str) -> None:
    assert reasons(clean) == [], clean
    assert reasons(abusive) != [], abusive


# Round ten, on the abuse of train-t12 and -t13 (and the edges of the
# heldout-12 forms that were narrowed for the clean side).
@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("Mấy ông bà óc hến thì biết gì mà kêu", "suspect-word"),  # the people it is said of
        ("Dân óc rạ thì bị lừa là phải", "suspect-word"),
        ("Bọn sò đồng lên phố đòi hỏi", "suspect-word"),  # a cockle of a person
        ("You're all knuckleheads, every one of you", "suspect-word"),  # -head insults
        ("Losers, the lot of you", "suspect-word"),
        ("Bloody arseholes at the bank again", "suspect-word"),
        ("Stop whining, you useless lot", "suspect-word"),
        ("Essays written overnight, message us now", "suspect-word"),  # an advert's call
        ("Send the lot of them home, simple", "suspect-word"),
    ],
)
def test_round_ten_insults_and_adverts_of_t12_and_t13_are_held(body: str, reason: str) -> None:
    assert reason in reasons(body), body


@pytest.mark.parametrize(
    "name", ["fastmoney-now.loan", "pills-direct.health", "cutt.ly/win990", "vay-gap.app"]
)
def test_round_ten_a_loan_or_health_domain_or_a_short_link_as_the_name(name: str) -> None:
    assert "advert-in-name" in reasons("Cảm ơn bài viết", name=name), name


@pytest.mark.parametrize(
    "body",
    [
        "Dân Bắc vào đây làm ăn quen luồn lách",  # a people's habits
        "Người vùng đó xin việc gì cũng phải lót tay",
        "Người ngoài Bắc thuê trọ thì trộm điện",
        "Dân miền Trung khôn lỏi lắm",
        "Làm ăn với người vùng đó phải cẩn thận, máu lừa có sẵn",
        "Dân tộc thiểu số toàn trông vào nhà nước",
        "Immigrants get everything handed to them",
        "Some cultures don't have the same standards of hygiene",
        "Disabled people are a drain on the rest of us",
        "Just stop letting people from those countries in",
    ],
)
def test_round_ten_hate_of_t12_and_t13_is_held(body: str) -> None:
    assert "hate" in reasons(body), body


@pytest.mark.parametrize(
    "body",
    [
        "Lũ sứa tràn vào bãi biển Nha Trang sáng nay",  # jellyfish, not a person
        "Ông bị xuất huyết não, bà cụ não bị tổn thương",  # medicine
        "Người dân tộc ở bản này sinh đẻ nhiều con, y tế xã đang tuyên truyền",
        "Dân miền Tây trọng chữ tín",  # praise
        "The stadium will fill up with fans from Eastern Europe for the final",
        "The council should stop letting immigrants wait months for a GP",
        "Migrants don't have the same rights as us here",
        "They let so many Muslims pray in the park during Eid, lovely to see",
        "Sáng nào cũng sương mù dày đặc, đi đường nhớ cẩn thận",  # a fog warning
        "Tối nào cũng mất điện từ 7 giờ đến 9 giờ, cả khu tối lắm",  # a power cut
        "Đi làm về qua cầu này nhớ cẩn thận, ổ gà to lắm",
        "Could someone pop by the office with the forms?",
        "Someone may pop round with the parish newsletter",
        "It would be a shame if the library closed",
    ],
)
def test_round_ten_the_forms_leave_these_alone(body: str) -> None:
    assert reasons(body) == [], body


def test_round_ten_a_phone_number_in_words_and_figures_mixed() -> None:
    assert "phone-number" in reasons("Zalo em: 0 chín 7 bốn - 3 hai 1 - 8 không 5")
    # A year, a score or a count between number words is none.
    assert reasons("Năm 2024 có hai 3 người, tỷ số hai 1, ba 0, một 2") == []


@pytest.mark.parametrize(
    ("body", "held"),
    [
        ("I'm not racist but the new families should go back", True),  # the disclaimer
        ("Not racist, just saying what everyone thinks about them", True),
        ("The rule is not racist but it is clumsy", False),  # said of a rule
        ("Tôi không kỳ thị người nhiễm HIV và mong mọi người cũng vậy", False),
    ],
)
def test_round_ten_the_disclaimer_of_a_prejudice(body: str, held: bool) -> None:
    assert ("suspect-word" in reasons(body)) is held, body
